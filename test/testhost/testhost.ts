import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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
  const disks = await makeDisks(work, options.disks);
  await writeFile(path.join(work, 'command'), options.command.map((a) => `${a}\n`).join(''));
  const kernel = await startKernel(work, [`mem=${options.memory ?? '1G'}`, ...disks]);
  const timer = setTimeout(() => kill(kernel.pid), options.timeoutMs ?? 600_000);
  try {
    await kernel.closed;
  } finally {
    clearTimeout(timer);
    kill(kernel.pid);
  }
  const text = (name: string) => readFile(path.join(work, name), 'utf8').catch(() => '');
  const status = (await text('status')).trim();
  return { status: status === '' ? -1 : Number(status), output: await text('output'), boot: `${await text('boot.log')}\n--- console ---\n${kernel.console()}` };
}

export interface LiveTestHostOptions {
  /** Its own directory (a fresh one the caller removes). */
  work: string;
  /** Image files other test hosts use too (UML's shared flag: no file lock), as /dev/ubdb, ...; then its own `disks`. */
  shared?: string[];
  /** Sizes of its own disk images in bytes. */
  disks?: number[];
  /** A host of shared VGs: its LVM uses lvmlockd, and wdmd, sanlock (host `name`) and lvmlockd (`hostId`) run. */
  lock?: { hostId: number; name: string; ioTimeout?: number };
  memory?: string;
}

/** A test host that stays up and runs shell scripts one after another (init.sh's loop). */
export interface LiveTestHost {
  /** Runs a shell script inside and waits for it; its exit status and output (stdout and stderr). */
  sh(script: string, timeoutMs?: number): Promise<{ code: number; output: string }>;
  /** What init printed and the kernel's console: for failures. */
  boot(): Promise<string>;
  /** Halts it and waits until its processes are gone (killed after `timeoutMs`). */
  halt(timeoutMs?: number): Promise<void>;
  /** Kills it at once, as a host that dies. */
  kill(): void;
}

/** Boots a test host that runs shell scripts on demand (`sh`) until it is halted or killed. */
export async function bootTestHost(options: LiveTestHostOptions): Promise<LiveTestHost> {
  const { work } = options;
  const q = path.join(work, 'q');
  await mkdir(q, { recursive: true });
  const disks = [...(options.shared ?? []).map((file, i) => `ubd${i + 1}c=${file}`), ...(await makeDisks(work, options.disks ?? [], options.shared?.length ?? 0))];
  const lock = options.lock ? [`kvmpool_lock=${options.lock.hostId}:${options.lock.name}`, `kvmpool_io_timeout=${options.lock.ioTimeout ?? 2}`] : [];
  const kernel = await startKernel(work, [`mem=${options.memory ?? '1G'}`, ...disks, 'kvmpool_loop=1', ...lock]);
  const text = (name: string) => readFile(path.join(work, name), 'utf8').catch(() => '');
  const boot = async () => `${await text('boot.log')}\n--- console ---\n${kernel.console()}`;
  let next = 1;
  let ended = false;
  void kernel.closed.then(() => (ended = true));
  return {
    async sh(script, timeoutMs = 120_000) {
      const n = next++;
      await writeFile(path.join(q, `tmp.${n}`), script);
      await rename(path.join(q, `tmp.${n}`), path.join(q, `cmd.${n}`));
      for (const deadline = Date.now() + timeoutMs; ; ) {
        const rc = await readFile(path.join(q, `rc.${n}`), 'utf8').catch(() => undefined);
        if (rc !== undefined) return { code: Number(rc.trim()), output: await text(`q/out.${n}`) };
        if (ended || Date.now() > deadline) {
          throw new Error(`${ended ? 'the test host ended' : `no answer in ${timeoutMs} ms`} while running: ${script}\n${await text(`q/out.${n}`)}\n${await boot()}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    boot,
    async halt(timeoutMs = 60_000) {
      await writeFile(path.join(q, 'halt'), '');
      const timer = setTimeout(() => kill(kernel.pid), timeoutMs);
      await kernel.closed;
      clearTimeout(timer);
      kill(kernel.pid);
    },
    kill: () => kill(kernel.pid),
  };
}

/** Sparse image files of `sizes` bytes in `work`, as UML's disk arguments from ubd`first + 1`. */
async function makeDisks(work: string, sizes: number[], first = 0): Promise<string[]> {
  const disks: string[] = [];
  for (const [i, size] of sizes.entries()) {
    const file = path.join(work, `disk${first + i + 1}.img`);
    await writeFile(file, '');
    await run('truncate', ['-s', String(size), file]);
    disks.push(`ubd${first + i + 1}=${file}`);
  }
  return disks;
}

/** Starts the kernel with init.sh on `work`; `closed` resolves when all its processes have ended. */
async function startKernel(work: string, extra: string[]): Promise<{ pid: number | undefined; closed: Promise<void>; console: () => string }> {
  await mkdir(path.join(work, 'uml'), { recursive: true });
  const shim = path.join(work, 'uml-xstate.so');
  await run('gcc', ['-O2', '-shared', '-fPIC', '-o', shim, path.join(SOURCES, 'uml-xstate.c'), '-ldl'], { timeoutMs: 60_000 });
  const args = [
    ...extra, 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw',
    `init=${path.join(SOURCES, 'init.sh')}`, 'con=null', 'con0=fd:0,fd:1',
    `uml_dir=${path.join(work, 'uml')}`, `kvmpool_work=${work}`,
  ];
  // The kernel runs several host processes in its own process group: a timeout kills them all.
  const child = spawn(KERNEL, args, { cwd: work, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LD_PRELOAD: shim } });
  let console = '';
  child.stdout.on('data', (c: Buffer) => (console = (console + c.toString('utf8')).slice(-64 * 1024)));
  child.stderr.on('data', (c: Buffer) => (console = (console + c.toString('utf8')).slice(-64 * 1024)));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { pid: child.pid, closed, console: () => console };
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
