import type { Command } from 'commander';
import type { GlobalOptions } from '../connect.js';

/** `kvmpool serve`: runs the daemon in the foreground until SIGINT/SIGTERM. */
export function serveCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('serve')
    .description('run the daemon: API on the home socket and on TCP (bearer token)')
    .option('--listen <host:port>', 'TCP address of the API', '127.0.0.1:7070')
    .option('--no-tcp', 'serve on the unix socket only')
    .action(async (o: { listen: string; tcp: boolean }) => {
      const log = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);
      // Loaded here: the daemon's modules (HTTP server, SQLite) would slow every other command's start.
      const { startDaemon } = await import('../../daemon/daemon.js');
      const daemon = await startDaemon({ ...(globals().home ? { home: globals().home } : {}), listen: o.tcp ? o.listen : null, log });
      log(`kvmpool serving ${daemon.paths.home}`);
      log(`  socket: ${daemon.paths.socket}`);
      if (daemon.tcp) log(`  http:   http://${daemon.tcp}/api/v1 (bearer token in ${daemon.paths.token})`);
      const stop = (signal: string) => {
        log(`${signal}: stopping`);
        daemon.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
