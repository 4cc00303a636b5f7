import type { VolumeAccess } from '../../model/access.js';
import { diskBlockdevs, diskDevice, diskSecrets, nicDevice, nicNetdevArg, type QemuDisk, type QemuNic } from '../../host/qemu-system.js';
import { secretObjectArg } from '../../host/qemu-access.js';

/**
 * What another tool needs to use a volume or a port: qemu arguments, or libvirt domain XML (a `<disk>`
 * or `<interface>` element for `virsh attach-device` or a domain's `<devices>`).
 */

export const ATTACH_FORMATS = ['qemu', 'libvirt'] as const;
export type AttachFormat = (typeof ATTACH_FORMATS)[number];

/** Arguments (argv) and the same as one line a shell takes, or XML. */
export interface AttachInfo {
  as: AttachFormat;
  args?: string[];
  text: string;
}

export function diskAttachInfo(d: QemuDisk, as: AttachFormat): AttachInfo {
  if (as === 'qemu') {
    const args = [
      ...diskSecrets(d).flatMap((s) => ['-object', secretObjectArg(s)]),
      ...diskBlockdevs(d).flatMap((b) => ['-blockdev', JSON.stringify(b)]),
      '-device',
      JSON.stringify(diskDevice(d)),
    ];
    return { as, args, text: shellLine(args) };
  }
  const scsi = d.bus === 'scsi';
  const local = d.access.kind === 'file' || d.access.kind === 'block';
  const io = local ? [`io="${d.direct ? 'native' : 'threads'}"`] : [];
  const driver = [`name="qemu"`, `type="${d.format}"`, `cache="${d.direct ? 'none' : 'writeback'}"`, ...io, ...(d.discard ? ['discard="unmap"'] : [])];
  const lines = [
    `<disk type="${diskType(d.access)}" device="disk">`,
    `  <driver ${driver.join(' ')}/>`,
    ...sourceXml(d.access, d.ref).map((l) => `  ${l}`),
    // The guest's name of the disk: change it if the domain has one of that name already.
    `  <target dev="${scsi ? 'sda' : 'vda'}" bus="${scsi ? 'scsi' : 'virtio'}"/>`,
    ...(d.readonly ? ['  <readonly/>'] : []),
    '</disk>',
  ];
  return { as, text: `${lines.join('\n')}\n` };
}

function diskType(a: VolumeAccess): string {
  return a.kind === 'file' ? 'file' : a.kind === 'block' ? 'block' : 'network';
}

/**
 * The `<source>` of a disk; a protocol's names its `<auth>`, a libvirt secret by its usage
 * (`kvmpool-POOL`): libvirt keeps secrets itself, so the user defines that secret with the pool's key.
 */
function sourceXml(a: VolumeAccess, ref: string): string[] {
  const usage = `kvmpool-${ref.slice(0, ref.indexOf('/'))}`;
  const auth = (user: string, type: string) => [`  <auth username="${xml(user)}">`, `    <secret type="${type}" usage="${xml(usage)}"/>`, '  </auth>'];
  switch (a.kind) {
    case 'file':
      return [`<source file="${xml(a.path)}"/>`];
    case 'block':
      return [`<source dev="${xml(a.path)}"/>`];
    case 'rbd':
      return [
        `<source protocol="rbd" name="${xml([a.pool, a.namespace, a.image].filter((x) => x !== undefined).join('/'))}">`,
        ...a.monitors.map((m) => `  ${hostXml(m, 3300)}`),
        ...auth(a.user, 'ceph'),
        '</source>',
      ];
    case 'iscsi':
      return [
        `<source protocol="iscsi" name="${xml(`${a.target}/${a.lun}`)}">`,
        `  ${hostXml(a.portal, 3260)}`,
        ...(a.initiator ? ['  <initiator>', `    <iqn name="${xml(a.initiator)}"/>`, '  </initiator>'] : []),
        ...(a.user ? auth(a.user, 'iscsi') : []),
        '</source>',
      ];
  }
}

function hostXml(address: string, port: number): string {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  return `<host name="${xml(m?.[1] ?? address)}" port="${m?.[2] ?? port}"/>`;
}

export function nicAttachInfo(n: QemuNic, as: AttachFormat): AttachInfo {
  if (as === 'qemu') {
    const args = ['-netdev', nicNetdevArg(n), '-device', JSON.stringify(nicDevice(n))];
    return { as, args, text: shellLine(args) };
  }
  // An existing tap, which libvirt must neither create nor delete: type ethernet, managed no.
  const lines = [
    '<interface type="ethernet">',
    `  <mac address="${n.mac}"/>`,
    `  <target dev="${xml(n.ifname)}" managed="no"/>`,
    '  <model type="virtio"/>',
    '</interface>',
  ];
  return { as, text: `${lines.join('\n')}\n` };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** argv as one shell line: words with anything but safe characters in single quotes. */
function shellLine(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
