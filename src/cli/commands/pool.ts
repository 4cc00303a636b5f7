import type { Command } from 'commander';
import type { PoolBody } from '../../api/schemas.js';
import { connect, type GlobalOptions } from '../connect.js';
import { formatSize, printFields, printJson, printTable, sizeWithBytes } from '../output.js';

type Globals = () => GlobalOptions;

/** `kvmpool pool ...` */
export function poolCommands(program: Command, globals: Globals): void {
  const pool = program.command('pool').description('storage pools: define, build, start, stop, refresh, delete');

  pool
    .command('define <name>')
    .description('define a pool')
    .requiredOption('--type <type>', 'pool type (dir)')
    .requiredOption('--target <path>', 'where the pool lives on the host')
    .option('--autostart', 'start the pool when the daemon starts')
    .action(async (name: string, o: { type: string; target: string; autostart?: boolean }) => {
      const body = { name, type: o.type, target: o.target, ...(o.autostart ? { autostart: true } : {}) };
      show(globals(), await connect(globals()).call('definePool', { body }));
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
    ['build', 'buildPool', "make the pool's storage (a directory for dir pools)"],
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
    ['built', p.built ? 'yes' : 'no'],
    ['autostart', p.autostart ? 'yes' : 'no'],
    ['capacity', sizeWithBytes(p.capacity)],
    ['allocation', sizeWithBytes(p.allocation)],
    ['available', sizeWithBytes(p.available)],
    ['volumes', p.volumes],
  ]);
}
