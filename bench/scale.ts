/**
 * The scale section of `npm run bench`: a dir pool of N qcow2 volumes (10,000 and 100,000), kvmpool's
 * daemon in its own process (so its memory is its own) beside libvirt on the same directory. Creates,
 * lists through the API and the CLI, refreshes with nothing and with 100 files changed (qemu-img runs
 * counted through a logging wrapper on the daemon's PATH), changes made outside seen without a
 * refresh, the daemon's memory, its store and its start-up.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat, writeFile, copyFile, rename, unlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { run } from '../src/host/exec.js';
import { KvmpoolClient } from '../src/client/client.js';
import { PACKAGE_ROOT } from '../src/daemon/home.js';
import type { Libvirt } from './peers.js';

/** One row of the scale table. */
export interface ScaleRow {
  operation: string;
  volumes: number;
  kvmpool: string;
  libvirt?: string;
  /** libvirt's figure over kvmpool's (above 1: kvmpool is better). */
  ratio?: number;
}

const cli = path.join(PACKAGE_ROOT, 'bin', 'kvmpool.js');
const CREATE_CLIENTS = 8;
/** Volumes libvirt creates for the rate comparison (it starts a qemu-img for each). */
const LIBVIRT_CREATES = 10_000;
const PAGE = 5000;

const seconds = (t: number) => `${t.toFixed(3)} s`;
const since = (t: number) => (performance.now() - t) / 1000;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return since(t);
}
async function median3(fn: () => Promise<unknown>): Promise<number> {
  const t = [await time(fn), await time(fn), await time(fn)].sort((a, b) => a - b);
  return t[1]!;
}
const rssMiB = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The whole body of a GET on the daemon's socket (not parsed: the API's time, not a client's). */
function get(socketPath: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: url }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts).toString()) : reject(new Error(`GET ${url}: ${res.statusCode} ${Buffer.concat(parts).toString()}`))));
      })
      .on('error', reject);
  });
}

/** A program run with its output thrown away (a listing of 100,000 lines); a non-zero exit fails with its last error line. */
function quiet(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(err.trim().split('\n').at(-1) || `${cmd} exited with ${code}`))));
  });
}

/** libvirt's median time for `fn`, or what stopped it (virsh lists at most 16,384 volumes). */
async function peer(fn: () => Promise<unknown>): Promise<number | string> {
  return median3(fn).catch((e: unknown) => `fails: ${(e instanceof Error ? e.message : String(e)).replace(/^error: /, '')}`);
}

/** A row beside libvirt's figure (a time, or why it failed). */
function beside(operation: string, volumes: number, ours: number, theirs: number | string): ScaleRow {
  return typeof theirs === 'number' ? { operation, volumes, kvmpool: seconds(ours), libvirt: seconds(theirs), ratio: theirs / ours } : { operation, volumes, kvmpool: seconds(ours), libvirt: theirs };
}

/** kvmpool's daemon in a process of its own, with qemu-img behind a wrapper that counts its runs. */
class DaemonProcess {
  pid = 0;
  readonly socket: string;
  constructor(
    private readonly home: string,
    private readonly shim: string,
  ) {
    this.socket = path.join(home, 'kvmpool.sock');
  }

  async start(): Promise<number> {
    const t = performance.now();
    // Started as a user starts it: the entry point's own node flags apply.
    const p = spawn(cli, ['--home', this.home, 'serve', '--no-tcp'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, PATH: `${this.shim}:${process.env.PATH ?? ''}` },
    });
    this.pid = p.pid!;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`the daemon exited with ${p.exitCode}`);
      if (await get(this.socket, '/api/v1').then(() => true, () => false)) return since(t);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    if (!this.pid) return;
    process.kill(this.pid, 'SIGINT');
    while (await rssMiB(this.pid).then(() => true, () => false)) await new Promise((r) => setTimeout(r, 50));
    this.pid = 0;
  }
}

/** Runs the scale section for each size in `sizes`, with libvirt beside. */
export async function scaleRows(work: string, sizes: readonly number[], libvirt: Libvirt): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  const shim = path.join(work, 'shim');
  const qemuLog = path.join(work, 'qemu-img.log');
  await mkdir(shim, { recursive: true });
  await writeFile(path.join(shim, 'qemu-img'), `#!/bin/sh\necho "$@" >> ${qemuLog}\nexec /usr/bin/qemu-img "$@"\n`);
  await chmod(path.join(shim, 'qemu-img'), 0o755);
  const qemuRuns = async () => (await readFile(qemuLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  for (const n of sizes) {
    process.stderr.write(`scale: ${n} volumes...\n`);
    const dir = path.join(work, `scale-${n}`);
    const home = path.join(work, `scale-${n}-home`);
    await mkdir(dir, { recursive: true });
    const daemon = new DaemonProcess(home, shim);
    const lvPool = `kvmpool-bench-scale-${n}`;
    let lvDefined = false;
    try {
      await daemon.start();
      const client = new KvmpoolClient({ socketPath: daemon.socket });
      await client.call('definePool', { body: { name: 'scale', type: 'dir', target: dir } });
      await client.call('startPool', { params: { pool: 'scale' } });
      const name = (i: number) => `v${String(i).padStart(6, '0')}.qcow2`;

      // creates: kvmpool through the API; libvirt with one virsh for all, in a pool of its own
      const created = await time(async () => {
        let next = 0;
        const worker = async () => {
          while (next < n) await client.call('createVolume', { params: { pool: 'scale' }, body: { name: name(next++), capacity: '10G', format: 'qcow2' } });
        };
        await Promise.all(Array.from({ length: CREATE_CLIENTS }, worker));
      });
      const row: ScaleRow = { operation: `create qcow2 volumes (API, ${CREATE_CLIENTS} clients; libvirt: one virsh)`, volumes: n, kvmpool: `${seconds(created)} (${Math.round(n / created)}/s)` };
      if (n <= LIBVIRT_CREATES) {
        const own = path.join(work, `scale-${n}-libvirt`);
        await mkdir(own);
        await libvirt.virsh('pool-create-as', `${lvPool}-own`, 'dir', '--target', own);
        const script = path.join(work, 'creates.virsh');
        await writeFile(script, Array.from({ length: n }, (_, i) => `vol-create-as ${lvPool}-own ${name(i)} 10G --format qcow2\n`).join(''));
        const theirs = await time(() => libvirt.script(script));
        await libvirt.virsh('pool-destroy', `${lvPool}-own`);
        await rm(own, { recursive: true });
        Object.assign(row, { libvirt: `${seconds(theirs)} (${Math.round(n / theirs)}/s)`, ratio: theirs / created });
      }
      rows.push(row);

      await libvirt.virsh('pool-define-as', lvPool, 'dir', '--target', dir);
      lvDefined = true;
      await libvirt.virsh('pool-start', lvPool);
      const virshQuiet = (...args: string[]) => quiet('virsh', ['-q', '-c', 'qemu:///system', ...args]);

      // listings
      const api = `/api/v1/pools/scale/volumes`;
      const paged = async () => {
        for (let after = ''; ; ) {
          const page = JSON.parse(await get(daemon.socket, `${api}?limit=${PAGE}${after ? `&after=${after}` : ''}`)) as { name: string }[];
          if (page.length < PAGE) return;
          after = page[page.length - 1]!.name;
        }
      };
      const details = await peer(() => virshQuiet('vol-list', '--details', lvPool));
      if (n <= 10_000) rows.push(beside('vol list, API, one request (libvirt: virsh vol-list --details)', n, await median3(() => get(daemon.socket, api)), details));
      rows.push(beside(`vol list, API, pages of ${PAGE} (libvirt: virsh vol-list --details)`, n, await median3(paged), details));
      const names = await peer(() => virshQuiet('vol-list', lvPool));
      rows.push(beside('vol list --json, CLI (libvirt: virsh vol-list)', n, await median3(() => quiet(cli, ['--home', home, 'vol', 'list', 'scale', '--json'])), names));

      // refreshes
      const refreshed = await median3(() => client.call('refreshPool', { params: { pool: 'scale' } }));
      rows.push(beside('pool refresh, nothing changed', n, refreshed, await peer(() => virshQuiet('pool-refresh', lvPool))));
      const before = await qemuRuns();
      for (let i = 0; i < 100; i++) await run('qemu-img', ['resize', '-f', 'qcow2', path.join(dir, name(i * Math.floor(n / 100))), '11G']);
      const changed = await time(() => client.call('refreshPool', { params: { pool: 'scale' } }));
      // The watch reads them too (written files within 10 s): what counts is that nothing else is read.
      await new Promise((r) => setTimeout(r, 11_000));
      rows.push({ operation: 'pool refresh, 100 files changed outside (qemu-img runs)', volumes: n, kvmpool: `${seconds(changed)} (${(await qemuRuns()) - before} runs)` });

      // changes made outside, seen in a listing without a refresh
      const seen = async (file: string, present: boolean) => {
        const t = performance.now();
        for (;;) {
          const page = JSON.parse(await get(daemon.socket, `${api}?limit=1&after=${file.slice(0, -1)}`)) as { name: string; capacity: number }[];
          if ((page[0]?.name === file) === present) return since(t);
          if (since(t) > 30) throw new Error(`${file} was not ${present ? 'listed' : 'gone'} after 30 s`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await copyFile(path.join(dir, name(1)), path.join(work, 'outside.qcow2'));
      await rename(path.join(work, 'outside.qcow2'), path.join(dir, 'zz-outside.qcow2'));
      const added = await seen('zz-outside.qcow2', true);
      await unlink(path.join(dir, 'zz-outside.qcow2'));
      const removed = await seen('zz-outside.qcow2', false);
      rows.push({ operation: 'a file added / removed outside: in the listing after (no refresh)', volumes: n, kvmpool: `${seconds(added)} / ${seconds(removed)}` });

      // memory after the listings and refreshes, the store, start-up
      const lvPid = Number((await readFile('/var/run/libvirtd.pid', 'utf8').catch(() => '0')).trim());
      const lvRss = lvPid > 0 ? await rssMiB(lvPid).catch(() => undefined) : undefined;
      const ours = await rssMiB(daemon.pid);
      rows.push({ operation: 'daemon RSS after listing and refresh (libvirt: libvirtd)', volumes: n, kvmpool: `${ours.toFixed(0)} MiB`, ...(lvRss ? { libvirt: `${lvRss.toFixed(0)} MiB`, ratio: lvRss / ours } : {}) });
      await daemon.stop();
      const db = path.join(home, 'kvmpool.db');
      const size = (await stat(db)).size + ((await stat(`${db}-wal`).catch(() => undefined))?.size ?? 0);
      const started = await daemon.start();
      rows.push({ operation: 'daemon start-up (pool read whole); store size', volumes: n, kvmpool: `${seconds(started)}; ${(size / 1024 / 1024).toFixed(1)} MiB` });
    } finally {
      if (lvDefined) {
        await libvirt.virsh('pool-destroy', lvPool).catch(() => undefined);
        await libvirt.virsh('pool-undefine', lvPool).catch(() => undefined);
      }
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    }
  }
  return rows;
}

/** The scale table in markdown. */
export function scaleTable(rows: readonly ScaleRow[]): string[] {
  return [
    '| operation | volumes | kvmpool | libvirt | kvmpool vs libvirt |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.operation} | ${r.volumes.toLocaleString('en')} | ${r.kvmpool} | ${r.libvirt ?? '-'} | ${r.ratio === undefined ? '-' : `${r.ratio.toFixed(1)}x`} |`),
  ];
}
