import type { Command } from 'commander';
import type { PoolBody } from '../../api/pool-schemas.js';
import type { DefinePoolBody } from '../../api/pool-schemas.js';
import type { KvmpoolClient } from '../../client/client.js';
import { connect, type GlobalOptions } from '../connect.js';
import { followJob } from '../progress.js';
import { formatSize, printFields, printJson, printTable, sizeWithBytes } from '../output.js';
import { readTypeFlags, typeFlags } from '../type-flags.js';

type Globals = () => GlobalOptions;

/** The settings of a `type` pool from the flags after the command's own: the daemon says which flags the type has. */
async function definitionBody(client: KvmpoolClient, name: string, o: { type: string; target?: string; autostart?: boolean }, extra: string[]): Promise<DefinePoolBody> {
  const types = await client.api.listStorageTypes();
  const t = types.find((x) => x.name === o.type);
  // An unknown (or planned) type is for the daemon to refuse, with its code: its settings are not read here.
  const source = t ? await readTypeFlags(extra, typeFlags(t, 'source'), `${t.name} pools`) : {};
  // The daemon checks the settings against the type's schema: here they are only gathered.
  return { name, type: o.type, ...(o.target ? { target: o.target } : {}), ...(Object.keys(source).length > 0 ? { source } : {}), ...(o.autostart ? { autostart: true } : {}) } as DefinePoolBody;
}

/** A found source in one phrase: `host:/export`, `//host/share`, or its settings. */
function describeSource(s: Record<string, unknown>): string {
  if (typeof s['export'] === 'string') return `${String(s['host'])}:${s['export']}`;
  if (typeof s['share'] === 'string') return `//${String(s['host'])}/${s['share']}`;
  if (typeof s['iqn'] === 'string') return s['iqn'];
  if (typeof s['adapter'] === 'string') return s['adapter'];
  return Object.entries(s).map(([k, v]) => `${k}=${String(v)}`).join(' ');
}

/** `kvmpool pool ...` */
export function poolCommands(program: Command, globals: Globals): void {
  const pool = program.command('pool').description('storage pools: define, build, start, stop, refresh, delete');

  pool
    .command('define <name>')
    .description("define a pool; the type's own settings are flags too (see 'kvmpool pool types')")
    .requiredOption('--type <type>', 'pool type (see kvmpool pool types)')
    .option('--target <path>', 'where volumes appear: a directory for dir and fs pools (derived for the others)')
    .option('--autostart', 'start the pool when the daemon starts')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (name: string, o: { type: string; target?: string; autostart?: boolean }, cmd: Command) => {
      const client = connect(globals());
      show(globals(), await client.api.definePool({ body: await definitionBody(client, name, o, cmd.args.slice(1)) }));
    });

  pool
    .command('sources')
    .description("what storage of a type there is to define a pool on (an NFS server's exports, a CIFS server's shares); the type's search fields are flags")
    .requiredOption('--type <type>', 'pool type (see kvmpool pool types)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (o: { type: string }, cmd: Command) => {
      const client = connect(globals());
      const t = (await client.api.listStorageTypes()).find((x) => x.name === o.type);
      const query = t ? await readTypeFlags(cmd.args, typeFlags(t, 'sourcesQuery'), `searches for ${t.name} sources`) : {};
      const found = await client.api.findPoolSources({ body: { type: o.type, ...query } as never });
      if (globals().json) return printJson(found);
      printTable(
        ['SOURCE', 'DETAILS', 'DEFINE WITH'],
        found.map((f) => [describeSource(f.source), f.details, Object.entries(f.source).map(([k, v]) => `--${t?.flags.source[k] ?? k} ${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')]),
      );
    });

  pool
    .command('types')
    .description('pool types this daemon has: their settings (flags of pool define), volume options (of vol create) and features')
    .action(async () => {
      const types = await connect(globals()).api.listStorageTypes();
      if (globals().json) return printJson(types);
      for (const t of types) {
        process.stdout.write(`${t.name}: ${t.summary}\n`);
        for (const [part, title] of [['source', 'pool define'], ['volumeOptions', 'vol create'], ['sourcesQuery', 'pool sources']] as const) {
          for (const f of typeFlags(t, part)) process.stdout.write(`  ${title} --${f.flag}${f.kind === 'boolean' ? '' : ' <value>'}  ${f.description}\n`);
        }
        const methods = t.cloneMethods.map((m) => m.name).join(', ');
        process.stdout.write(`  formats: ${t.createFormats.join(', ') || '-'}; clone methods: ${methods || '-'}; verbs: ${t.verbs.join(', ')}\n`);
      }
    });

  pool
    .command('list')
    .description('list pools')
    .action(async () => {
      const pools = await connect(globals()).api.listPools();
      if (globals().json) return printJson(pools);
      printTable(
        ['NAME', 'TYPE', 'STATE', 'AUTOSTART', 'CAPACITY', 'ALLOCATION', 'AVAILABLE', 'VOLUMES', 'TARGET'],
        pools.map((p) => [p.name, p.type, p.state, p.autostart ? 'yes' : 'no', formatSize(p.capacity), formatSize(p.allocation), formatSize(p.available), p.volumes, p.target]),
      );
    });

  pool
    .command('info <name>')
    .description('show a pool')
    .action(async (name: string) => show(globals(), await connect(globals()).api.getPool({ params: { pool: name } })));

  const verbs = [
    ['start', 'startPool', 'start a pool'],
    ['refresh', 'refreshPool', 're-read the volumes from the host'],
  ] as const;
  for (const [verb, id, description] of verbs) {
    pool
      .command(`${verb} <name>`)
      .description(description)
      .action(async (name: string) => show(globals(), await connect(globals()).api[id]({ params: { pool: name } })));
  }

  pool
    .command('build <name>')
    .description("make the pool's storage: a directory (dir), a file system (fs), a volume group (logical), a partition table (disk)")
    .option('--overwrite', 'also on a device that already carries a file system, partition table or LVM signature (its data is lost)')
    .action(async (name: string, o: { overwrite?: boolean }) => show(globals(), await connect(globals()).api.buildPool({ params: { pool: name }, body: { overwrite: o.overwrite === true } })));

  pool
    .command('extend <name> <device>')
    .description('add a device to a pool (logical: its volume group grows)')
    .action(async (name: string, device: string) => show(globals(), await connect(globals()).api.extendPool({ params: { pool: name }, body: { device } })));

  pool
    .command('shrink <name> <device>')
    .description('move the data off a device while volumes stay in use, then remove it from the pool (a job with progress)')
    .action(async (name: string, device: string) => {
      const client = connect(globals());
      const { job } = await client.api.shrinkPool({ params: { pool: name }, body: { device } });
      const end = await followJob(client, job, globals().json === true);
      if (globals().json) return printJson(end);
      process.stdout.write(`${device} removed from pool ${name}\n`);
    });

  pool
    .command('stop <name>')
    .description('stop a pool (refused while volumes are in use unless --force)')
    .option('--force', 'stop even if volumes are in use')
    .action(async (name: string, o: { force?: boolean }) => show(globals(), await connect(globals()).api.stopPool({ params: { pool: name }, body: { force: o.force === true } })));

  pool
    .command('delete <name>')
    .description('remove what build made; refused while volumes exist unless --force (kvmpool deletes only its own volumes)')
    .option('--force', "delete the pool's kvmpool-created volumes first")
    .action(async (name: string, o: { force?: boolean }) => show(globals(), await connect(globals()).api.deletePool({ params: { pool: name }, body: { force: o.force === true } })));

  pool
    .command('undefine <name>')
    .description('forget a stopped pool (its storage stays)')
    .action(async (name: string) => {
      await connect(globals()).api.undefinePool({ params: { pool: name } });
      if (globals().json) printJson({ name, undefined: true });
      else process.stdout.write(`pool ${name} undefined\n`);
    });

  pool
    .command('autostart <name>')
    .description('start the pool when the daemon starts (--off to stop doing so)')
    .option('--off', 'do not autostart')
    .action(async (name: string, o: { off?: boolean }) => show(globals(), await connect(globals()).api.patchPool({ params: { pool: name }, body: { autostart: !o.off } })));
}

/** A setting as one line: lists joined, sizes as they are. */
const settingText = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));

function show(g: GlobalOptions, p: PoolBody): void {
  if (g.json) return printJson(p);
  printFields([
    ['name', p.name],
    ['type', p.type],
    ['state', p.state],
    ['reason', p.reason],
    ['target', p.target],
    ...Object.entries(p.source).map(([k, v]): [string, string] => [k, settingText(v)]),
    ['secrets', p.secrets.length > 0 ? `${p.secrets.join(', ')} (kept apart, never shown)` : undefined],
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
