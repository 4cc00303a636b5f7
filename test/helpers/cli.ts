import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/daemon/home.js';
import { tempDir } from './tmp.js';

/** The CLI entry point of the checkout. */
export const KVMPOOL_BIN = path.join(PACKAGE_ROOT, 'bin', 'kvmpool.js');

/** What one CLI run printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kvmpool ARGS` as a user would, with optional extra environment. */
export function kvmpool(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KVMPOOL_BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A `kvmpool serve` child process and where it listens. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `kvmpool serve --home HOME` on a free TCP port and waits until it listens. */
export async function serve(home: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, [KVMPOOL_BIN, 'serve', '--home', home, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kvmpool serve did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /http:\s+(http:\/\/\S+)\/api\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kvmpool serve exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        // Ended already (exited, or killed by a signal).
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs `body` with a `kvmpool serve` process on a fresh home; stops it and removes everything after. */
export async function withServe(body: (s: { dir: string; home: string; k: (...args: string[]) => Promise<CliResult> }) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const home = path.join(dir, 'home');
  const daemon = await serve(home);
  try {
    await body({ dir, home, k: (...args) => kvmpool(['--home', home, ...args]) });
  } finally {
    await daemon.stop();
    await cleanup();
  }
}
