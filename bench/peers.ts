import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { run } from '../src/host/exec.js';

/** A libvirt daemon for side-by-side runs: found running, or started here (and stopped by `stop`). */
export interface Libvirt {
  virsh(...args: string[]): Promise<string>;
  /** Runs the virsh commands of `file` (one per line) in one virsh process, its output thrown away. */
  script(file: string): Promise<void>;
  stop(): Promise<void>;
}

const URI = 'qemu:///system';

/**
 * Connects to libvirt: uses a running libvirtd, or starts one the way this host allows without
 * systemd (the groups and user libvirt expects, its run and log directories). scripts/setup.sh
 * installs it; a machine without it fails the run rather than print a table without its column.
 */
export async function startLibvirt(): Promise<Libvirt> {
  if (!existsSync('/usr/sbin/libvirtd') || !existsSync('/usr/bin/virsh')) throw new Error('libvirt is not installed: run scripts/setup.sh (npm run bench does)');
  const virsh = async (...args: string[]) => {
    try {
      return (await run('virsh', ['-q', '-c', URI, ...args], { timeoutMs: 600_000 })).stdout;
    } catch (e) {
      throw new Error(`virsh ${args.join(' ')}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
  const running = await virsh('version').then(
    () => true,
    () => false,
  );
  const script = async (file: string) => {
    const input = await open(file, 'r');
    try {
      await new Promise<void>((resolve, reject) => {
        const p = spawn('virsh', ['-q', '-c', URI], { stdio: [input.fd, 'ignore', 'inherit'] });
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`virsh (commands of ${file}) exited with ${code}`))));
      });
    } finally {
      await input.close();
    }
  };
  if (running) {
    await forgetLeftovers(virsh);
    return { virsh, script, stop: async () => {} };
  }
  for (const g of ['kvm', 'libvirt-qemu', 'libvirt']) await run('sh', ['-c', `getent group ${g} >/dev/null || groupadd -r ${g}`]);
  await run('sh', ['-c', 'id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu']);
  await run('mkdir', ['-p', '/var/log/libvirt', '/var/run/libvirt']);
  await run('libvirtd', ['-d']);
  for (let i = 0; !(await virsh('version').then(() => true, () => false)); i++) {
    if (i === 50) throw new Error('libvirtd did not answer within 10 s of its start');
    await new Promise((r) => setTimeout(r, 200));
  }
  await forgetLeftovers(virsh);
  return {
    virsh,
    script,
    async stop() {
      const pid = Number((await readFile('/var/run/libvirtd.pid', 'utf8').catch(() => '')).trim());
      if (pid > 0) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && pid > 0; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** Removes the libvirt pools an earlier run that was killed left defined (libvirt keeps them across restarts). */
async function forgetLeftovers(virsh: (...args: string[]) => Promise<string>): Promise<void> {
  const names = (await virsh('pool-list', '--all', '--name')).split('\n').map((l) => l.trim());
  for (const name of names.filter((n) => n.startsWith('kvmpool-bench-'))) {
    await virsh('pool-destroy', name).catch(() => undefined); // it may not be running
    await virsh('pool-undefine', name);
  }
}
