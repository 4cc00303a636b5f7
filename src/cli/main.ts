import { Command, CommanderError } from 'commander';
import { ERROR_CODES, toKvmpoolError } from '../model/errors.js';
import { VERSION } from '../daemon/version.js';
import type { GlobalOptions } from './connect.js';
import { jobCommands } from './commands/job.js';
import { clusterCommands } from './commands/cluster.js';
import { poolCommands } from './commands/pool.js';
import { serveCommand } from './commands/serve.js';
import { volumeCommands } from './commands/vol.js';
import { snapshotCommands } from './commands/snap.js';
import { networkCommands } from './commands/net.js';
import { portCommands } from './commands/port.js';
import { vmCommands } from './commands/vm.js';
import { attachInfoCommands } from './commands/attach-info.js';

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('kvmpool')
    .description('storage pools, volumes, networks and VMs of a KVM host')
    .version(VERSION)
    .option('--home <dir>', 'daemon home (state, socket, token); default KVMPOOL_HOME or ./var of the checkout')
    .option('--json', 'machine-readable output')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const globals = () => program.opts<GlobalOptions>();
  serveCommand(program, globals);
  poolCommands(program, globals);
  volumeCommands(program, globals);
  snapshotCommands(program, globals);
  networkCommands(program, globals);
  portCommands(program, globals);
  vmCommands(program, globals);
  const noun = (name: string) => program.commands.find((c) => c.name() === name)!;
  attachInfoCommands(noun('vol'), noun('port'), globals);
  jobCommands(program, globals);
  clusterCommands(program, globals);
  for (const c of program.commands) c.exitOverride();
  for (const c of program.commands.flatMap((c) => c.commands)) c.exitOverride();

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const err = toKvmpoolError(e);
    if (program.opts<GlobalOptions>().json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } })}\n`);
    process.stderr.write(`kvmpool: ${err.message} [${err.code}]\n`);
    return ERROR_CODES[err.code].exit;
  }
}
