import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { KvmpoolError } from '../model/errors.js';

/** Options for one host command. */
export interface ExecOptions {
  /** Milliseconds before the command is stopped (SIGTERM, then SIGKILL after `killGraceMs`). */
  timeoutMs?: number;
  signal?: AbortSignal;
  killGraceMs?: number;
  /** Extra environment; LC_ALL=C is always set so output is parseable. */
  env?: Record<string, string>;
  /** Called with each chunk of standard output as it arrives (progress reports). */
  onStdout?: (chunk: string) => void;
  /** The same for standard error (tools that report progress there, such as rbd). */
  onStderr?: (chunk: string) => void;
  /** Written to the command's standard input (a script for sfdisk); stdin is closed otherwise. */
  input?: string;
  /**
   * Hands the command's standard input and output to the caller as it starts, for data streamed in or
   * out (its output is then not collected: the caller reads it, or resumes it to let it go).
   */
  stream?: (io: { stdin: Writable; stdout: Readable }) => void;
}

/** What a finished command returned. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Everything known about a host command that failed, timed out or could not start. */
export interface HostCommandDetails {
  [key: string]: unknown;
  command: string;
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stderr: string;
  durationMs: number;
}

/** The one error type of host commands; `code` says whether it failed, timed out or the tool is missing. */
export class HostCommandError extends KvmpoolError {
  declare readonly details: HostCommandDetails;
  constructor(code: 'HOST_COMMAND_FAILED' | 'HOST_COMMAND_TIMEOUT' | 'HOST_TOOL_MISSING' | 'CANCELLED', message: string, details: HostCommandDetails) {
    super(code, message, details);
    this.name = 'HostCommandError';
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 16 * 1024 * 1024;
/** Bytes of standard error kept (its end). */
const MAX_STDERR = 1024 * 1024;

/**
 * Process groups of the commands running now. A command never outlives the process that ran it: one
 * left running when it ends (a test's daemon closed mid-call, a daemon stopping) would wait on a
 * server that may be gone, for ever.
 */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
});

/**
 * Runs a program with an argv array (never a shell). Resolves with its output on exit 0; otherwise
 * rejects with a HostCommandError carrying argv, exit code, signal, timed-out flag and trimmed stderr.
 */
export function run(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const grace = options.killGraceMs ?? 2000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const argv = [command, ...args];
    if (options.signal?.aborted) {
      reject(failure('CANCELLED', argv, null, null, false, '', 0));
      return;
    }
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env, LC_ALL: 'C' },
      stdio: [options.input !== undefined || options.stream ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      // Own process group, so a stop reaches the command's children too (a shell's sleep, a helper).
      detached: true,
    });
    const group = child.pid;
    if (group !== undefined) running.add(group);
    if (options.input !== undefined) {
      child.stdin!.on('error', () => {}); // a command that exits without reading it
      child.stdin!.end(options.input);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    let settled = false;
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => {
        signalGroup('SIGKILL');
        // A process stuck in the kernel (I/O to a server that went away) may outlive even SIGKILL
        // for a while: it is abandoned, so that no caller waits on it.
        killTimer = setTimeout(() => abandon(), grace);
        killTimer.unref();
      }, grace);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.stream) {
      // A reader that went away (the command failed, or was stopped) is told by the command's exit.
      child.stdin!.on('error', () => {});
      options.stream({ stdin: child.stdin!, stdout: child.stdout! });
    } else {
      child.stdout!.on('data', (chunk: Buffer) => {
        options.onStdout?.(chunk.toString('utf8'));
        outBytes += chunk.length;
        if (outBytes <= MAX_OUTPUT) out.push(chunk);
      });
    }
    child.stderr!.on('data', (chunk: Buffer) => {
      options.onStderr?.(chunk.toString('utf8'));
      err.push(chunk);
      // A long-lived command (a watch) may report trouble for days: only the end of it is kept.
      for (errBytes += chunk.length; errBytes > MAX_STDERR && err.length > 1; ) errBytes -= err.shift()!.length;
    });
    const finish = () => {
      if (group !== undefined) running.delete(group);
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish();
      const ms = performance.now() - started;
      if (e.code === 'ENOENT') reject(failure('HOST_TOOL_MISSING', argv, null, null, false, `${command}: not found`, ms));
      else reject(failure('HOST_COMMAND_FAILED', argv, null, null, false, e.message, ms));
    });
    const abandon = () => {
      if (settled) return;
      settled = true;
      finish();
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.unref();
      const ms = Math.round(performance.now() - started);
      reject(failure(aborted ? 'CANCELLED' : 'HOST_COMMAND_TIMEOUT', argv, null, 'SIGKILL', timedOut, `${command} did not end after SIGKILL: abandoned`, ms));
    };
    child.on('close', (exitCode, signal) => {
      if (settled) return;
      settled = true;
      finish();
      const ms = Math.round(performance.now() - started);
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (exitCode === 0 && !timedOut && !aborted) {
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, durationMs: ms });
      } else {
        const code = aborted ? 'CANCELLED' : timedOut ? 'HOST_COMMAND_TIMEOUT' : 'HOST_COMMAND_FAILED';
        reject(failure(code, argv, exitCode, signal, timedOut, stderr, ms));
      }
    });
  });
}

function failure(
  code: 'HOST_COMMAND_FAILED' | 'HOST_COMMAND_TIMEOUT' | 'HOST_TOOL_MISSING' | 'CANCELLED',
  argv: string[],
  exitCode: number | null,
  signal: string | null,
  timedOut: boolean,
  stderr: string,
  durationMs: number,
): HostCommandError {
  const command = argv[0]!;
  const lastLine = stderr.split('\n').filter(Boolean).pop() ?? '';
  const what =
    code === 'HOST_TOOL_MISSING' ? `${command} is not installed`
    : code === 'CANCELLED' ? `${command} was cancelled`
    : timedOut ? `${command} timed out after ${Math.round(durationMs / 1000)} s`
    : signal ? `${command} was killed by ${signal}`
    : `${command} failed (exit ${exitCode})${lastLine ? `: ${lastLine}` : ''}`;
  return new HostCommandError(code, what, { command, argv, exitCode, signal, timedOut, stderr: stderr.slice(0, 4000), durationMs: Math.round(durationMs) });
}
