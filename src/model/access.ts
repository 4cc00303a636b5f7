import { errors } from './errors.js';

/** A secret handed to a tool: the file (mode 0600) that holds it, never its value. */
export interface SecretRef {
  file: string;
}

/**
 * How a volume's bytes are reached, as its driver says: a local file, a local block device, or a
 * protocol qemu speaks (an RBD image, an iSCSI LUN through libiscsi) with its credentials as a
 * reference to a secret. Transfers, copies, VM disks, libvirt XML and qemu arguments all start here.
 */
export type VolumeAccess =
  | { kind: 'file'; path: string }
  | { kind: 'block'; path: string }
  | { kind: 'rbd'; pool: string; namespace?: string; image: string; monitors: readonly string[]; user: string; key: SecretRef; conf?: string }
  | { kind: 'iscsi'; portal: string; target: string; lun: number; initiator?: string; user?: string; password?: SecretRef };

/** A volume's access with what the storage allows: O_DIRECT, and discards that free space. */
export interface AccessInfo {
  access: VolumeAccess;
  /** The storage takes O_DIRECT (qemu cache=none, native AIO). */
  directIO: boolean;
  /** Discarded or zeroed ranges give space back (sparse files, thin LVs, RBD). */
  discard: boolean;
}

/** A local file or block device. */
export type LocalAccess = Extract<VolumeAccess, { kind: 'file' | 'block' }>;

export function isLocal(a: VolumeAccess): a is LocalAccess {
  return a.kind === 'file' || a.kind === 'block';
}

/** The local path of an access; NOT_SUPPORTED for `what` on a protocol volume. */
export function localPath(a: VolumeAccess, what: string): string {
  if (!isLocal(a)) throw errors.notSupported(`${what} of ${a.kind} volumes is not supported`, { access: a.kind });
  return a.path;
}
