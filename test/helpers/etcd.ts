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

/** Seconds etcd has to answer after its start. */
const START_S = 20;

/** Starts etcd and waits until it answers (etcdctl endpoint health); fails when it exits or does not answer in time. */
export async function startEtcd(): Promise<TestEtcd> {
  const dir = await tempDir();
  const client = await freePort();
  let peer = await freePort();
  while (peer === client) peer = await freePort();
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const logFile = path.join(dir.dir, 'etcd.log');
  const log = await open(logFile, 'a');
  const child = spawn('etcd', ['--name', 'test', '--data-dir', path.join(dir.dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `test=${peerUrl}`], { stdio: ['ignore', log.fd, log.fd], detached: true });
  await log.close();
  let ended: string | undefined;
  const exited = new Promise<void>((r) => {
    child.once('error', (e) => {
      ended = `etcd could not start: ${e.message}`;
      r();
    });
    child.once('exit', (code, signal) => {
      ended ??= `etcd exited (${code ?? signal}): see ${logFile}`;
      r();
    });
  });
  const stop = async () => {
    if (ended === undefined) process.kill(-child.pid!, 'SIGKILL');
    await exited;
    await dir.cleanup();
  };
  const clear = async () => void (await run('etcdctl', ['--endpoints', url, 'del', '--prefix', '']));
  for (const deadline = Date.now() + START_S * 1000; ; ) {
    const healthy = await run('etcdctl', ['--endpoints', url, '--dial-timeout', '1s', '--command-timeout', '2s', 'endpoint', 'health'], { timeoutMs: 3000 }).then(
      () => true,
      () => false,
    );
    if (healthy) return { url, clear, stop };
    if (ended !== undefined || Date.now() > deadline) {
      const why = ended ?? `etcd did not answer on ${url} within ${START_S} s`;
      await stop();
      throw new Error(why);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
