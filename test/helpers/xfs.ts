import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';

/** An xfs file system with reflink, on a loop-mounted sparse file under `dir`. */
export interface ReflinkFs {
  mountpoint: string;
  unmount: () => Promise<void>;
}

/**
 * Makes and mounts an xfs file system (reflink=1) of `size` bytes in a file under `dir`. The loop
 * device is set to clear itself when unmounted; `unmount` is safe to call twice.
 */
export async function mountReflinkFs(dir: string, size = 4 * 1024 ** 3): Promise<ReflinkFs> {
  const image = path.join(dir, 'xfs.img');
  const mountpoint = path.join(dir, 'xfs');
  await run('truncate', ['-s', String(size), image]);
  await run('mkfs.xfs', ['-q', '-m', 'reflink=1', image]);
  await mkdir(mountpoint, { recursive: true });
  await run('mount', ['-o', 'loop', image, mountpoint]);
  let mounted = true;
  return {
    mountpoint,
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      await run('umount', [mountpoint]);
    },
  };
}
