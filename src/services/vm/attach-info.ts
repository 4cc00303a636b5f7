import { diskBlockdevs, diskDevice, nicDevice, nicNetdevArg, type QemuDisk, type QemuNic } from '../../host/qemu-system.js';

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
    const args = [...diskBlockdevs(d).flatMap((b) => ['-blockdev', JSON.stringify(b)]), '-device', JSON.stringify(diskDevice(d))];
    return { as, args, text: shellLine(args) };
  }
  const scsi = d.bus === 'scsi';
  const driver = [`name="qemu"`, `type="${d.format}"`, `cache="${d.direct ? 'none' : 'writeback'}"`, `io="${d.direct ? 'native' : 'threads'}"`, ...(d.discard ? ['discard="unmap"'] : [])];
  const lines = [
    `<disk type="${d.block ? 'block' : 'file'}" device="disk">`,
    `  <driver ${driver.join(' ')}/>`,
    `  <source ${d.block ? 'dev' : 'file'}="${xml(d.path)}"/>`,
    // The guest's name of the disk: change it if the domain has one of that name already.
    `  <target dev="${scsi ? 'sda' : 'vda'}" bus="${scsi ? 'scsi' : 'virtio'}"/>`,
    ...(d.readonly ? ['  <readonly/>'] : []),
    '</disk>',
  ];
  return { as, text: `${lines.join('\n')}\n` };
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
