import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import type { KvmpoolClient } from '../../src/client/client.js';
import { tempDir } from './tmp.js';

/**
 * A tiny guest for VM tests: Debian's cloud kernel and a busybox initramfs whose /init runs a given
 * script after loading the virtio, SCSI and ACPI button modules. The kernel package is fetched once
 * with apt-get and kept in a cache directory beside the test directories.
 */

const CACHE = path.join(os.tmpdir(), 'kvmpool-guest-cache');
/** In load order (each after what it needs). */
const MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk',
  'failover', 'net_failover', 'virtio_net', 'scsi_common', 'scsi_mod', 'sd_mod', 'virtio_scsi', 'evdev', 'button',
];

/** The kernel and the modules the guest loads, unpacked from the current cloud kernel package. */
async function kernel(): Promise<{ vmlinuz: string; modules: string }> {
  const dir = path.join(CACHE, 'kernel');
  const vmlinuz = path.join(dir, 'vmlinuz');
  const modules = path.join(dir, 'modules');
  if (existsSync(vmlinuz) && MODULES.every((m) => existsSync(path.join(modules, `${m}.ko`)))) return { vmlinuz, modules };
  await mkdir(CACHE, { recursive: true });
  const work = await tempDir();
  try {
    const pkg = await kernelPackage();
    // apt-get download writes to the current directory: run it there through env -C.
    await run('env', ['-C', work.dir, 'apt-get', 'download', '-q', pkg], { timeoutMs: 300_000 });
    const deb = (await readdir(work.dir)).find((f) => f.endsWith('.deb'))!;
    const root = path.join(work.dir, 'root');
    await run('dpkg-deb', ['-x', path.join(work.dir, deb), root], { timeoutMs: 120_000 });
    const staged = path.join(work.dir, 'kernel');
    await mkdir(path.join(staged, 'modules'), { recursive: true });
    const boot = path.join(root, 'boot');
    await copyFile(path.join(boot, (await readdir(boot)).find((f) => f.startsWith('vmlinuz-'))!), path.join(staged, 'vmlinuz'));
    const { stdout } = await run('find', [path.join(root, 'lib', 'modules'), '-name', '*.ko']);
    for (const file of stdout.trim().split('\n')) {
      const name = path.basename(file, '.ko');
      if (MODULES.includes(name)) await copyFile(file, path.join(staged, 'modules', `${name}.ko`));
    }
    // Another test process may have filled the cache meanwhile: its copy is as good. An incomplete
    // one (a run stopped while filling it) is replaced.
    const complete = () => existsSync(vmlinuz) && MODULES.every((m) => existsSync(path.join(modules, `${m}.ko`)));
    if (!complete()) {
      await rm(dir, { recursive: true, force: true });
      await rename(staged, dir).catch((e: unknown) => {
        if (!complete()) throw e;
      });
    }
  } finally {
    await work.cleanup();
  }
  return { vmlinuz, modules };
}

/** The versioned package the cloud kernel metapackage depends on (refreshing apt's lists if they lack it). */
async function kernelPackage(): Promise<string> {
  const find = async () => /Depends: (linux-image-\S+-cloud-amd64)/.exec((await run('apt-cache', ['depends', 'linux-image-cloud-amd64']).catch(() => ({ stdout: '' }))).stdout)?.[1];
  const found = (await find()) ?? (await run('apt-get', ['update', '-q'], { timeoutMs: 300_000 }).then(find));
  if (!found) throw new Error('no cloud kernel package in the apt lists');
  return found;
}

/** A guest: its kernel, an initramfs running `script` as part of /init, and the kernel command line. */
export interface Guest {
  kernel: string;
  initrd: string;
  append: string;
  cleanup: () => Promise<void>;
}

/** Builds a guest whose /init prints `GUEST-READY`, then runs `script` (busybox sh). */
export async function buildGuest(script: string, options: { ignorePowerButton?: boolean } = {}): Promise<Guest> {
  const { vmlinuz, modules } = await kernel();
  const work = await tempDir();
  const root = path.join(work.dir, 'root');
  for (const d of ['bin', 'dev', 'proc', 'sys', 'lib/modules']) await mkdir(path.join(root, d), { recursive: true });
  await copyFile('/bin/busybox', path.join(root, 'bin', 'busybox'));
  for (const m of MODULES) await copyFile(path.join(modules, `${m}.ko`), path.join(root, 'lib', 'modules', `${m}.ko`));
  const init = [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'mount -t devtmpfs dev /dev; mount -t proc proc /proc; mount -t sysfs sys /sys',
    `for m in ${MODULES.join(' ')}; do insmod /lib/modules/$m.ko; done`,
    // The ACPI power button (vm stop) powers the guest off, unless it is to be ignored.
    ...(options.ignorePowerButton ? [] : [
      'for e in /sys/class/input/event*; do',
      // evdev hands out whole events (24 bytes) only.
      '  [ "$(cat $e/device/name 2>/dev/null)" = "Power Button" ] && (dd if=/dev/input/${e##*/} bs=24 count=1 2>/dev/null >/dev/null; echo GUEST-POWEROFF; poweroff -f) &',
      'done',
    ]),
    'mdev -s 2>/dev/null',
    'echo GUEST-READY',
    script,
    'while :; do sleep 60; done',
  ].join('\n');
  await writeFile(path.join(root, 'init'), `${init}\n`);
  await chmod(path.join(root, 'init'), 0o755);
  const initrd = path.join(work.dir, 'initrd.cpio');
  await cpio(root, initrd);
  return { kernel: vmlinuz, initrd, append: 'console=ttyS0 quiet panic=-1', cleanup: work.cleanup };
}

/** Packs `root` into a newc cpio archive (what the kernel unpacks as its initramfs). */
async function cpio(root: string, out: string): Promise<void> {
  const files = (await run('find', [root, '-mindepth', '1'])).stdout.trim().split('\n').map((f) => path.relative(root, f));
  await new Promise<void>((resolve, reject) => {
    const child = spawn('cpio', ['-o', '-H', 'newc', '-O', out, '--quiet'], { cwd: root, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cpio failed: ${err}`))));
    child.stdin.end(`${files.join('\n')}\n`);
  });
}

/** Waits until the VM's console output matches `pattern` (or the predicate holds); returns the output. */
export async function waitConsole(client: KvmpoolClient, vm: string, pattern: RegExp | ((out: string) => boolean), timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data } = await client.call('vmConsole', { params: { vm }, query: {} });
    if (typeof pattern === 'function' ? pattern(data) : pattern.test(data)) return data;
    if (Date.now() > deadline) throw new Error(`console of ${vm} never showed ${pattern}:\n${data}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The guest of the storage tests: says what its first disk holds (`READ <16 bytes>`), writes
 * `GUEST-WROTE-THIS` at byte 4096 of it and says `WROTE`. Given to a test host as KVMPOOL_TEST_GUEST
 * (built outside: the test host has no network to fetch the kernel).
 */
export const DISK_GUEST_SCRIPT = `
echo "READ $(head -c 16 /dev/vda)"
printf GUEST-WROTE-THIS | dd of=/dev/vda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null && echo WROTE
`;

/** The guest a test host was given (KVMPOOL_TEST_GUEST), or undefined. */
export function givenGuest(): Omit<Guest, 'cleanup'> | undefined {
  const text = process.env['KVMPOOL_TEST_GUEST'];
  return text ? (JSON.parse(text) as Omit<Guest, 'cleanup'>) : undefined;
}
