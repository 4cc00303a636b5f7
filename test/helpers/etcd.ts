import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

/** A throw-away one-member etcd on 127.0.0.1 (Debian's etcd-server), its data in a temporary directory. */
export interface TestEtcd {
  /** Its client URL. */
  url: string;
  /** Removes every key (each test starts on an empty etcd). */
  clear(): Promise<void>;
  /** Stops it (SIGKILL: its data goes with the directory) and removes its directory. */
  stop(): Promise<void>;
}

/** Starts etcd and waits until it answers (etcdctl endpoint health), at most 20 s. */
export async function startEtcd(): Promise<TestEtcd> {
  const dir = await tempDir();
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const log = await open(path.join(dir.dir, 'etcd.log'), 'a');
  const child = spawn('etcd', ['--name', 'test', '--data-dir', path.join(dir.dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `test=${peerUrl}`], { stdio: ['ignore', log.fd, log.fd], detached: true });
  await log.close();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    await dir.cleanup();
  };
  for (let i = 0; ; i++) {
    const healthy = await run('etcdctl', ['--endpoints', url, '--dial-timeout', '1s', 'endpoint', 'health'], { timeoutMs: 5000 }).then(() => true, () => false);
    const clear = async () => void (await run('etcdctl', ['--endpoints', url, 'del', '--prefix', '']));
    if (healthy) return { url, clear, stop };
    if (i === 40) {
      await stop();
      throw new Error(`etcd did not answer on ${url} within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
