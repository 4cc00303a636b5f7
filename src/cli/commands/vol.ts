import type { Command } from 'commander';
import type { CreateVolumeBody, VolumeBody } from '../../api/schemas.js';
import { errors } from '../../model/errors.js';
import { parseVolumeRef, validateName } from '../../model/names.js';
import { MAX_PAGE, PREALLOC_MODES, WIPE_ALGORITHMS } from '../../model/volume-types.js';
import type { KvmpoolClient } from '../../client/client.js';
import { choice } from '../choice.js';
import { connect, type GlobalOptions } from '../connect.js';
import { readTypeFlags, typeFlags } from '../type-flags.js';
import { formatSize, printFields, printJson, sizeWithBytes, TableStream } from '../output.js';
import { followJob } from '../progress.js';
import { transferCommands } from './transfer.js';

type Globals = () => GlobalOptions;

/** Volumes asked for per request by `vol list`. */
const LIST_PAGE = 5000;

/** `kvmpool vol ...` */
export function volumeCommands(program: Command, globals: Globals): void {
  const vol = program.command('vol').description('volumes: create, list, info, resize, rename, delete');

  vol
    .command('create <pool/vol>')
    .description("create a volume (preallocated ones run as a job with a progress bar); a pool type's volume options are flags too (see 'kvmpool pool types')")
    .requiredOption('--size <size>', 'capacity: bytes or 512M, 10G, 1.5T')
    .option('--format <format>', 'raw or qcow2', 'raw')
    .option('--prealloc <mode>', 'off, metadata (qcow2), falloc or full', 'off')
    .option('--cluster-size <size>', 'qcow2 cluster size (512 to 2M)')
    .option('--lazy-refcounts', 'qcow2: defer refcount updates')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (ref: string, o: { size: string; format: string; prealloc: string; clusterSize?: string; lazyRefcounts?: boolean }, cmd: Command) => {
      const { pool, volume } = parseVolumeRef(ref);
      const client = connect(globals());
      const body: CreateVolumeBody = {
        name: volume,
        capacity: o.size,
        format: o.format,
        prealloc: choice(PREALLOC_MODES, o.prealloc, 'preallocation'),
        ...(o.clusterSize ? { clusterSize: o.clusterSize } : {}),
        ...(o.lazyRefcounts ? { lazyRefcounts: true } : {}),
        ...(await volumeOptions(client, cmd.args.slice(1))),
      };
      const out = await client.api.createVolume({ params: { pool }, body });
      if ('job' in out) {
        await followJob(client, out.job, globals().json === true);
        return show(globals(), await client.api.getVolume({ params: { pool, volume } }));
      }
      show(globals(), out);
    });

  vol
    .command('list <pool>')
    .description("list a pool's volumes")
    .option('--page <n>', 'volumes asked for per request', String(LIST_PAGE))
    .action(async (pool: string, o: { page: string }) => {
      const size = Number(o.page);
      if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw errors.invalid(`--page takes a number of volumes from 1 to ${MAX_PAGE}`);
      const api = connect(globals()).api;
      const params = { pool: validateName('pool', pool) };
      // Page by page: the table is printed as it comes (a pool may hold 100,000 volumes); --json is
      // printed whole at the end, so a failure midway prints its error alone, never half a document.
      const json = globals().json === true;
      const table = new TableStream(['NAME', 'FORMAT', 'CAPACITY', 'ALLOCATION', 'NOTES', 'PATH']);
      const items: string[] = [];
      for (let after: string | undefined; ; ) {
        const vols = await api.listVolumes({ params, query: { limit: size, ...(after !== undefined ? { after } : {}) } });
        if (json) for (const v of vols) items.push(JSON.stringify(v));
        else table.write(vols.map((v) => [v.name, v.format, formatSize(v.capacity), formatSize(v.allocation), notes(v), v.path]));
        const last = vols.at(-1)?.name;
        // A short page is the last; so is one that does not move on (a daemon that does not page).
        if (vols.length !== size || last === undefined || (after !== undefined && last <= after)) break;
        after = last;
      }
      if (json) process.stdout.write(items.length > 0 ? `[\n${items.join(',\n')}\n]\n` : '[]\n');
      else table.end();
    });

  vol
    .command('info <pool/vol>')
    .description('show a volume')
    .action(async (ref: string) => {
      const { pool, volume } = parseVolumeRef(ref);
      show(globals(), await connect(globals()).api.getVolume({ params: { pool, volume } }));
    });

  vol
    .command('delete <pool/vol>')
    .description('delete a volume (refused while in use)')
    .option('--force', 'also delete a volume kvmpool did not create, or one whose snapshots go with it')
    .option('--defer', 'a parent its clones still read through: gone now, its storage freed once its last clone is gone')
    .action(async (ref: string, o: { force?: boolean; defer?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      await connect(globals()).api.deleteVolume({ params: { pool, volume }, query: { force: o.force ? true : undefined, defer: o.defer ? true : undefined } });
      if (globals().json) printJson({ volume: `${pool}/${volume}`, deleted: true });
      else process.stdout.write(`volume ${pool}/${volume} deleted\n`);
    });

  vol
    .command('resize <pool/vol>')
    .description('grow a volume; shrinking needs --shrink')
    .requiredOption('--size <size>', 'new capacity: bytes or 512M, 10G, 1.5T')
    .option('--shrink', 'allow making it smaller (data past the new end is lost)')
    .option('--force', 'shrink a volume kvmpool did not create')
    .action(async (ref: string, o: { size: string; shrink?: boolean; force?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const body = { capacity: o.size, shrink: o.shrink === true, force: o.force === true };
      show(globals(), await connect(globals()).api.resizeVolume({ params: { pool, volume }, body }));
    });

  vol
    .command('rename <pool/vol> <newname>')
    .description('rename a volume within its pool')
    .option('--force', 'rename a volume kvmpool did not create')
    .action(async (ref: string, newName: string, o: { force?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      show(globals(), await connect(globals()).api.renameVolume({ params: { pool, volume }, body: { name: newName, force: o.force === true } }));
    });

  volumeDataCommands(vol, globals);
  transferCommands(vol, globals);
}

/** `vol clone`, `vol wipe` and `vol flatten`: data jobs with a progress bar. */
export function volumeDataCommands(vol: Command, globals: Globals): void {
  vol
    .command('clone <pool/vol> <newname>')
    .description('clone or copy a volume; auto picks reflink where the pool shares extents, else a sparse copy')
    .option('--to <pool>', 'target pool (a copy)')
    .option('--format <format>', 'raw or qcow2 (a conversion)')
    .option('--method <method>', 'auto, reflink, linked (qcow2 overlay) or copy', 'auto')
    .action(async (ref: string, newName: string, o: { to?: string; format?: string; method: string }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const client = connect(globals());
      const body = { name: newName, method: o.method, ...(o.to ? { pool: o.to } : {}), ...(o.format ? { format: o.format } : {}) };
      const { job } = await client.api.cloneVolume({ params: { pool, volume }, body });
      const end = await followJob(client, job, globals().json === true);
      // A clone job's result is the new volume and the method used (services/storage/volume-data.ts).
      const result = end.result as { volume: VolumeBody; method: string };
      if (globals().json) return printJson({ ...result.volume, method: result.method });
      process.stdout.write(`cloned ${pool}/${volume} to ${result.volume.pool}/${result.volume.name} (${result.method})\n`);
      show(globals(), result.volume);
    });

  vol
    .command('wipe <pool/vol>')
    .description('overwrite a volume: zero (default), random or discard')
    .option('--algorithm <algorithm>', 'zero, random or discard', 'zero')
    .option('--verify', 'read the volume back afterwards')
    .option('--force', 'wipe a volume kvmpool did not create')
    .action(async (ref: string, o: { algorithm: string; verify?: boolean; force?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const client = connect(globals());
      const body = { algorithm: choice(WIPE_ALGORITHMS, o.algorithm, 'wipe algorithm'), verify: o.verify === true, force: o.force === true };
      const { job } = await client.api.wipeVolume({ params: { pool, volume }, body });
      const end = await followJob(client, job, globals().json === true);
      if (globals().json) return printJson(end.result);
      process.stdout.write(`volume ${pool}/${volume} wiped (${o.algorithm}${o.verify ? ', verified' : ''})\n`);
    });

  vol
    .command('flatten <pool/vol>')
    .description("give a layered clone its own copy of its parent's data, so it no longer depends on it")
    .action(async (ref: string) => {
      const { pool, volume } = parseVolumeRef(ref);
      const client = connect(globals());
      const { job } = await client.api.flattenVolume({ params: { pool, volume } });
      const end = await followJob(client, job, globals().json === true);
      const result = end.result as { volume: VolumeBody };
      if (globals().json) return printJson(result.volume);
      process.stdout.write(`volume ${pool}/${volume} flattened\n`);
    });
}

/** The volume options given as flags: every pool type's, as the daemon lists them (the pool's type decides which apply). */
async function volumeOptions(client: KvmpoolClient, args: string[]): Promise<Record<string, unknown>> {
  if (args.length === 0) return {};
  const flags = new Map((await client.api.listStorageTypes()).flatMap((t) => typeFlags(t, 'volumeOptions')).map((f) => [f.flag, f]));
  return readTypeFlags(args, [...flags.values()], 'volumes');
}

function notes(v: VolumeBody): string {
  const n: string[] = [];
  if (!v.managed) n.push('foreign');
  if (v.busy) n.push(`busy:${v.busy}`);
  if (v.backingOutsidePool) n.push('backing-outside-pool');
  if (v.snapshots) n.push(`snapshots:${v.snapshots}`);
  return n.join(',');
}

function show(g: GlobalOptions, v: VolumeBody): void {
  if (g.json) return printJson(v);
  printFields([
    ['name', `${v.pool}/${v.name}`],
    ['key', v.key],
    ['path', v.path],
    ['format', v.format],
    ['kind', v.kind],
    ['capacity', sizeWithBytes(v.capacity)],
    ['allocation', sizeWithBytes(v.allocation)],
    ['managed', v.managed ? 'yes' : 'no (created outside kvmpool)'],
    ['backing', v.backingFile],
    ['parent', v.parent],
    ['snapshots', v.snapshots],
    ['object size', v.objectSize !== undefined ? sizeWithBytes(v.objectSize) : undefined],
    ['storage features', v.storageFeatures],
    ['busy', v.busy],
    ['features', v.features],
    ['warnings', v.warnings],
  ]);
}
