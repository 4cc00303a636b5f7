import type { Command } from 'commander';
import type { PoolBody } from '../../api/schemas.js';
import { connect, type GlobalOptions } from '../connect.js';
import type { JobInfo } from '../../model/types.js';
import { followJob } from '../progress.js';
import { formatSize, printFields, printJson, printTable, sizeWithBytes } from '../output.js';

type Globals = () => GlobalOptions;

/** `kvmpool pool ...` */
export function poolCommands(program: Command, globals: Globals): void {
  const pool = program.command('pool').description('storage pools: define, build, start, stop, refresh, delete');

  pool
    .command('define <name>')
    .description('define a pool')
    .requiredOption('--type <type>', 'pool type: dir, fs, logical, disk')
    .option('--target <path>', 'where volumes appear: a directory for dir and fs pools (logical: /dev/VG, disk: /dev)')
    .option('--source <devices>', 'block device(s), comma-separated: one for fs and disk, one or more for logical')
    .option('--fs-format <fs>', 'fs pools: the file system build makes (ext4, xfs, btrfs; default ext4)')
    .option('--label <label>', 'disk pools: the partition table build makes (gpt, dos; default gpt)')
    .option('--vg <name>', 'logical pools: the volume group (default: the pool name; without --source an existing one is adopted)')
    .option('--thin-pool <size>', 'logical pools: size of the thin pool build makes (for thin volumes)')
    .option('--thin-auto-extend', 'logical pools: grow the thin pool from free space in the volume group when it is 80% full')
    .option('--autostart', 'start the pool when the daemon starts')
    .action(async (name: string, o: { type: string; target?: string; source?: string; fsFormat?: string; label?: string; vg?: string; thinPool?: string; thinAutoExtend?: boolean; autostart?: boolean }) => {
      const source = {
        ...(o.source ? { devices: o.source.split(',').map((d) => d.trim()).filter((d) => d !== '') } : {}),
        ...(o.fsFormat ? { fsFormat: o.fsFormat } : {}),
        ...(o.label ? { label: o.label } : {}),
        ...(o.vg ? { vg: o.vg } : {}),
        ...(o.thinPool ? { thinPool: o.thinPool } : {}),
        ...(o.thinAutoExtend ? { thinAutoExtend: true } : {}),
      };
      const body = { name, type: o.type, ...(o.target ? { target: o.target } : {}), ...(Object.keys(source).length > 0 ? { source } : {}), ...(o.autostart ? { autostart: true } : {}) };
      show(globals(), await connect(globals()).call('definePool', { body: body as never }));
    });

  pool
    .command('list')
    .description('list pools')
    .action(async () => {
      const pools = await connect(globals()).call('listPools');
      if (globals().json) return printJson(pools);
      printTable(
        ['NAME', 'TYPE', 'STATE', 'AUTOSTART', 'CAPACITY', 'ALLOCATION', 'AVAILABLE', 'VOLUMES', 'TARGET'],
        pools.map((p) => [p.name, p.type, p.state, p.autostart ? 'yes' : 'no', formatSize(p.capacity), formatSize(p.allocation), formatSize(p.available), p.volumes, p.target]),
      );
    });

  pool
    .command('info <name>')
    .description('show a pool')
    .action(async (name: string) => show(globals(), await connect(globals()).call('getPool', { params: { pool: name } })));

  const verbs = [
    ['start', 'startPool', 'start a pool'],
    ['refresh', 'refreshPool', 're-read the volumes from the host'],
  ] as const;
  for (const [verb, id, description] of verbs) {
    pool
      .command(`${verb} <name>`)
      .description(description)
      .action(async (name: string) => show(globals(), await connect(globals()).call(id, { params: { pool: name } })));
  }

  pool
    .command('build <name>')
    .description("make the pool's storage: a directory (dir), a file system (fs), a volume group (logical), a partition table (disk)")
    .option('--overwrite', 'also on a device that already carries a file system, partition table or LVM signature (its data is lost)')
    .action(async (name: string, o: { overwrite?: boolean }) => show(globals(), await connect(globals()).call('buildPool', { params: { pool: name }, body: { overwrite: o.overwrite === true } })));

  pool
    .command('extend <name> <device>')
    .description('add a device to a logical pool (its volume group grows)')
    .action(async (name: string, device: string) => show(globals(), await connect(globals()).call('extendPool', { params: { pool: name }, body: { device } })));

  pool
    .command('shrink <name> <device>')
    .description('move the data off a device while volumes stay in use, then remove it from a logical pool (a job with progress)')
    .action(async (name: string, device: string) => {
      const client = connect(globals());
      const { job } = await client.call('shrinkPool', { params: { pool: name }, body: { device } });
      const end = await followJob(client, job as JobInfo, globals().json === true);
      if (globals().json) return printJson(end);
      process.stdout.write(`${device} removed from pool ${name}\n`);
    });

  pool
    .command('stop <name>')
    .description('stop a pool (refused while volumes are in use unless --force)')
    .option('--force', 'stop even if volumes are in use')
    .action(async (name: string, o: { force?: boolean }) => show(globals(), await connect(globals()).call('stopPool', { params: { pool: name }, body: { force: o.force === true } })));

  pool
    .command('delete <name>')
    .description('remove what build made; refused while volumes exist unless --force (kvmpool deletes only its own volumes)')
    .option('--force', "delete the pool's kvmpool-created volumes first")
    .action(async (name: string, o: { force?: boolean }) => show(globals(), await connect(globals()).call('deletePool', { params: { pool: name }, body: { force: o.force === true } })));

  pool
    .command('undefine <name>')
    .description('forget a stopped pool (its storage stays)')
    .action(async (name: string) => {
      await connect(globals()).call('undefinePool', { params: { pool: name } });
      if (globals().json) printJson({ name, undefined: true });
      else process.stdout.write(`pool ${name} undefined\n`);
    });

  pool
    .command('autostart <name>')
    .description('start the pool when the daemon starts (--off to stop doing so)')
    .option('--off', 'do not autostart')
    .action(async (name: string, o: { off?: boolean }) => show(globals(), await connect(globals()).call('patchPool', { params: { pool: name }, body: { autostart: !o.off } })));
}

function show(g: GlobalOptions, p: PoolBody): void {
  if (g.json) return printJson(p);
  printFields([
    ['name', p.name],
    ['type', p.type],
    ['state', p.state],
    ['reason', p.reason],
    ['target', p.target],
    ['source', p.source?.devices?.join(', ')],
    ['file system', p.source?.fsFormat],
    ['volume group', p.source?.vg],
    ['built', p.built ? 'yes' : 'no'],
    ['autostart', p.autostart ? 'yes' : 'no'],
    ['capacity', sizeWithBytes(p.capacity)],
    ['allocation', sizeWithBytes(p.allocation)],
    ['available', sizeWithBytes(p.available)],
    ['volumes', p.volumes],
    ...(p.devices ?? []).map((d): [string, string] => [`device ${d.path}`, `${formatSize(d.size)}, ${formatSize(d.free)} free`]),
    ...(p.thin ? [['thin pool', `${p.thin.name}: ${formatSize(p.thin.size)}, data ${p.thin.dataPercent}%, metadata ${p.thin.metadataPercent}%, over-commit ${p.thin.overcommit.toFixed(2)}x`] as [string, string]] : []),
  ]);
}
