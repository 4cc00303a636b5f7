import type { Command } from 'commander';
import { parseSnapshotRef } from '../../model/names.js';
import { connect, type GlobalOptions } from '../connect.js';
import { formatSize, printJson, printTable } from '../output.js';
import { followJob } from '../progress.js';

/** `kvmpool snap ...` */
export function snapshotCommands(program: Command, globals: () => GlobalOptions): void {
  const snap = program.command('snap').description('volume snapshots: create, list, revert, delete (POOL/VOLUME@SNAP)');

  snap
    .command('create <pool/vol@snap>')
    .description('take a snapshot (qcow2 internal, a reflink copy of a raw volume, a thin or copy-on-write LV snapshot)')
    .option('--size <size>', 'logical pools: room for changes of a copy-on-write snapshot (thin snapshots need none)')
    .action(async (ref: string, o: { size?: string }) => {
      const { pool, volume, snapshot } = parseSnapshotRef(ref);
      const s = await connect(globals()).api.createSnapshot({ params: { pool, volume }, body: { name: snapshot!, ...(o.size ? { size: o.size } : {}) } });
      if (globals().json) return printJson(s);
      process.stdout.write(`snapshot ${pool}/${volume}@${s.name} created (${s.kind})\n`);
    });

  snap
    .command('list <pool/vol>')
    .description("list a volume's snapshots")
    .action(async (ref: string) => {
      const { pool, volume } = parseSnapshotRef(ref, false);
      const snaps = await connect(globals()).api.listSnapshots({ params: { pool, volume } });
      if (globals().json) return printJson(snaps);
      printTable(['NAME', 'CREATED', 'CAPACITY', 'ALLOCATION', 'KIND'], snaps.map((s) => [s.name, s.created, formatSize(s.capacity), s.allocation === undefined ? '-' : formatSize(s.allocation), s.invalid ? `${s.kind} (invalid: ran out of room)` : s.kind]));
    });

  snap
    .command('revert <pool/vol@snap>')
    .description('make the volume what it was at the snapshot (the snapshot stays)')
    .action(async (ref: string) => {
      const { pool, volume, snapshot } = parseSnapshotRef(ref);
      const client = connect(globals());
      const { job } = await client.api.revertSnapshot({ params: { pool, volume, snapshot: snapshot! } });
      const end = await followJob(client, job, globals().json === true);
      if (globals().json) return printJson(end);
      process.stdout.write(`volume ${pool}/${volume} reverted to ${snapshot}\n`);
    });

  snap
    .command('delete <pool/vol@snap>')
    .description('delete a snapshot')
    .action(async (ref: string) => {
      const { pool, volume, snapshot } = parseSnapshotRef(ref);
      await connect(globals()).api.deleteSnapshot({ params: { pool, volume, snapshot: snapshot! } });
      if (globals().json) return printJson({ snapshot: `${pool}/${volume}@${snapshot}`, deleted: true });
      process.stdout.write(`snapshot ${pool}/${volume}@${snapshot} deleted\n`);
    });
}
