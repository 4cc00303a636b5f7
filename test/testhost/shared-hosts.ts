import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/host/exec.js';
import { tempDir } from '../helpers/tmp.js';
import { bootTestHost, testHostMissing, type LiveTestHost } from './testhost.js';

/** The checkout's CLI (this file runs from dist/test/testhost). */
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/kvmpool.js');

/** A test host of a group that shares one disk, running its own kvmpool daemon. */
export interface SharedHost {
  name: string;
  host: LiveTestHost;
  /** Runs the kvmpool CLI inside against this host's daemon; its exit status and output. */
  kvmpool(...args: string[]): Promise<{ code: number; output: string }>;
}

/**
 * Test hosts that share one disk image as their first disk (/dev/ubdb, as a SAN LUN would be), each
 * with wdmd, sanlock (named after the host) and lvmlockd (its own host_id) running, and its own kvmpool
 * daemon; `dir` is a directory all of them and the caller see. `stop` stops the daemons and halts
 * the hosts (killing what does not end), and removes everything.
 */
export async function startSharedHosts(names: string[], lunSize: number): Promise<{ hosts: SharedHost[]; dir: string; stop(): Promise<void> }> {
  const dir = await tempDir();
  const hosts: SharedHost[] = [];
  const stop = async () => {
    await Promise.all(
      hosts.map(async (h) => {
        await h.host.sh('kill $(cat daemon.pid) 2>/dev/null; sleep 1', 30_000).catch(() => h.host.kill());
        await h.host.halt(30_000);
      }),
    );
    await dir.cleanup();
  };
  try {
    const lun = path.join(dir.dir, 'lun.img');
    await run('truncate', ['-s', String(lunSize), lun]);
    // Each host is in `hosts` as soon as it boots, so that `stop` halts it whatever else fails.
    const booted = await Promise.allSettled(
      names.map(async (name, i) => {
        const work = path.join(dir.dir, name);
        const host = await bootTestHost({ work, shared: [lun], lock: { hostId: i + 1, name }, memory: '1G' });
        const kvmpool = async (...args: string[]) => host.sh(['node', CLI, '--home', `${work}/home`, ...args].map(quote).join(' '), 300_000);
        hosts.push({ name, host, kvmpool });
        const started = await host.sh(`setsid node ${quote(CLI)} --home ${quote(`${work}/home`)} serve --no-tcp > daemon.log 2>&1 < /dev/null & echo $! > daemon.pid
          for i in $(seq 1 300); do [ -S ${quote(`${work}/home/kvmpool.sock`)} ] && exit 0; sleep 0.2; done; cat daemon.log; exit 1`);
        if (started.code !== 0) throw new Error(`the daemon of ${name} did not start: ${started.output}`);
      }),
    );
    const failed = booted.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    hosts.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
    return { hosts, dir: dir.dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Why shared test hosts cannot run here, or undefined. */
export async function sharedHostsMissing(): Promise<string | undefined> {
  const missing = await testHostMissing();
  if (missing) return missing;
  for (const tool of ['/usr/sbin/sanlock', '/usr/sbin/lvmlockd', '/usr/sbin/wdmd']) {
    if (!(await access(tool).then(() => true, () => false))) return `${tool} is not installed (run scripts/setup.sh)`;
  }
  return undefined;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
