import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { skipWhenMissing } from '../helpers/requirements.js';

/**
 * The test host: a user-mode Linux kernel (Debian's `user-mode-linux`) that has what this machine's
 * kernel lacks (device-mapper, partition tables, 802.1Q). It boots with the host's root file system
 * over hostfs (read-write: everything inside works under its own work directory), disk image files
 * as /dev/ubdb, /dev/ubdc, ..., runs one command and halts. See test/testhost/init.sh.
 */

const KERNEL = '/usr/bin/linux.uml';
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The checkout's test/testhost (this file runs from dist/test/testhost). */
const SOURCES = path.resolve(HERE, '../../../test/testhost');

export interface TestHostOptions {
  /** Where the run keeps its disks, console and results (a fresh directory the caller removes). */
  work: string;
  /** Sizes of the disk images in bytes; the first is /dev/ubdb, then /dev/ubdc, ... */
  disks: number[];
  /** The command, as argv (run from `work`, as root, with PATH and LVM_SYSTEM_DIR set). */
  command: string[];
  /** Killed after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Memory of the test host (UML's `mem=`); default 1G. */
  memory?: string;
}

export interface TestHostResult {
  /** Exit status of the command; -1 when it never finished (boot failure, timeout). */
  status: number;
  /** Its stdout and stderr. */
  output: string;
  /** What init printed while setting up, and the kernel's console: for failures. */
  boot: string;
}

/** Device names of the disks inside the test host, in order. */
export function testHostDisks(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `/dev/ubd${String.fromCharCode('b'.charCodeAt(0) + i)}`);
}

/** Why the test host cannot run here, or undefined when it can. */
export async function testHostMissing(): Promise<string | undefined> {
  for (const tool of [KERNEL, '/usr/sbin/lvm', '/usr/bin/gcc']) {
    if (!(await access(tool).then(() => true, () => false))) return `${tool} is not installed (run scripts/setup.sh)`;
  }
  return undefined;
}

/** Skips `t` where the test host cannot run (true: the test returns), or fails it under CI=true. */
export async function skipWithoutTestHost(t: TestContext): Promise<boolean> {
  return skipWhenMissing(t, await testHostMissing());
}

/** Boots the test host, runs the command inside, and returns its status and output. */
export async function runInTestHost(options: TestHostOptions): Promise<TestHostResult> {
  const { work } = options;
  await mkdir(path.join(work, 'uml'), { recursive: true });
  const shim = path.join(work, 'uml-xstate.so');
  await run('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, path.join(SOURCES, 'uml-xstate.c'), '-ldl'], { timeoutMs: 60_000 });
  const disks: string[] = [];
  for (const [i, size] of options.disks.entries()) {
    const file = path.join(work, `disk${i + 1}.img`);
    await writeFile(file, '');
    await run('truncate', ['-s', String(size), file]);
    disks.push(`ubd${i + 1}=${file}`);
  }
  await writeFile(path.join(work, 'command'), options.command.map((a) => `${a}\n`).join(''));
  const args = [
    `mem=${options.memory ?? '1G'}`, 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw',
    ...disks, `init=${path.join(SOURCES, 'init.sh')}`, 'con=null', 'con0=fd:0,fd:1',
    `uml_dir=${path.join(work, 'uml')}`, `kvmpool_work=${work}`,
  ];
  // The kernel runs several host processes in its own process group: a timeout kills them all.
  const child = spawn(KERNEL, args, { cwd: work, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LD_PRELOAD: shim } });
  let console = '';
  child.stdout.on('data', (c: Buffer) => (console = (console + c.toString('utf8')).slice(-64 * 1024)));
  child.stderr.on('data', (c: Buffer) => (console = (console + c.toString('utf8')).slice(-64 * 1024)));
  const timer = setTimeout(() => kill(child.pid), options.timeoutMs ?? 600_000);
  try {
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
  } finally {
    clearTimeout(timer);
    kill(child.pid);
  }
  const text = (name: string) => readFile(path.join(work, name), 'utf8').catch(() => '');
  const status = (await text('status')).trim();
  return { status: status === '' ? -1 : Number(status), output: await text('output'), boot: `${await text('boot.log')}\n--- console ---\n${console}` };
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
