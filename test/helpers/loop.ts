import path from 'node:path';
import { run } from '../../src/host/exec.js';

/** A loop device over a sparse file under `dir`, and its removal (safe to call twice). */
export interface LoopDevice {
  device: string;
  detach: () => Promise<void>;
}

export async function loopDevice(dir: string, size: number, name = 'disk.img'): Promise<LoopDevice> {
  const file = path.join(dir, name);
  await run('truncate', ['-s', String(size), file]);
  const { stdout } = await run('losetup', ['--find', '--show', file]);
  const device = stdout.trim();
  let attached = true;
  return {
    device,
    detach: async () => {
      if (!attached) return;
      attached = false;
      // Whatever a failed test left mounted on it goes first.
      const { stdout: mounts } = await run('findmnt', ['-rn', '-o', 'TARGET', '--source', device]).catch(() => ({ stdout: '' }));
      for (const target of mounts.split('\n').filter((t) => t !== '')) await run('umount', ['-l', target]).catch(() => undefined);
      await run('losetup', ['-d', device]);
    },
  };
}
