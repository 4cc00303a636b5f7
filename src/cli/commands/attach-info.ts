import type { Command } from 'commander';
import { DISK_BUSES } from '../../model/vm-types.js';
import { choice } from '../choice.js';
import { parsePortRef, parseVolumeRef } from '../../model/names.js';
import { connect, type GlobalOptions } from '../connect.js';
import { printJson } from '../output.js';

type Globals = () => GlobalOptions;

const format = (as: string) => choice(['qemu', 'libvirt'] as const, as, 'format');

/** `kvmpool vol attach-info` and `kvmpool port attach-info`: how another tool uses a volume or port. */
export function attachInfoCommands(vol: Command, port: Command, globals: Globals): void {
  const print = (info: { text: string }) => (globals().json ? printJson(info) : process.stdout.write(info.text.endsWith('\n') ? info.text : `${info.text}\n`));

  vol
    .command('attach-info <pool/vol>')
    .description('qemu -blockdev/-device arguments, or libvirt <disk> XML, for the volume')
    .option('--as <format>', 'qemu or libvirt', 'qemu')
    .option('--bus <bus>', 'virtio or scsi', 'virtio')
    .option('--readonly', 'read-only')
    .action(async (ref: string, o: { as: string; bus: string; readonly?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const query = { as: format(o.as), bus: choice(DISK_BUSES, o.bus, 'bus'), ...(o.readonly ? { readonly: true } : {}) };
      print(await connect(globals()).api.volumeAttachInfo({ params: { pool, volume }, query }));
    });

  port
    .command('attach-info <net/port>')
    .description('qemu -netdev/-device arguments, or libvirt <interface> XML, for the port (a tap)')
    .option('--as <format>', 'qemu or libvirt', 'qemu')
    .action(async (ref: string, o: { as: string }) => {
      const { network, port: name } = parsePortRef(ref);
      print(await connect(globals()).api.portAttachInfo({ params: { network, port: name }, query: { as: format(o.as) } }));
    });
}
