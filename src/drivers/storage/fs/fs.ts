import { mkdtemp, readdir, rmdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KvmpoolError, errors } from '../../../model/errors.js';
import { checkDevicePath } from '../../../model/paths.js';
import { Reverter } from '../../../model/reverter.js';
import type { PoolDefinition, PoolStatus } from '../../../model/pool-types.js';
import { Type, type Static } from 'typebox';
import { assertDeviceEmpty, assertDeviceFree, blockDeviceSize, fileSystemOn, sameDevice, wipeSignatures } from '../../../host/blockdev.js';
import { fsUsage } from '../../../host/fs-usage.js';
import { assertFitsFileSystem, FS_FORMATS, makeFileSystem, type FsFormat } from '../../../host/mkfs.js';
import { mount, mountAt, mountsOf, umount } from '../../../host/mount.js';
import type { StorageDriver } from '../driver.js';
import { fileVolumeOps } from '../file/file-driver.js';
import { makeTargetDir, removeTargetDirs, resolveTargetDir } from '../file/target-dir.js';
import { absent } from '../../../model/ignore.js';

/** Volumes are files: nothing on the pool's file system is a device node, setuid or executable. */
const MOUNT_OPTIONS = ['nodev', 'nosuid', 'noexec'];
/** How build records the file system it made, so a later build or delete recognizes it. */
const UUID = 'uuid:';

/** An fs pool's settings: its device, and the file system build makes. */
export const FsSettings = Type.Object(
  {
    devices: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 64, description: 'the block device (one)' }),
    fsFormat: Type.Optional(Type.Enum(FS_FORMATS, { description: 'the file system build makes (default ext4)' })),
  },
  { additionalProperties: false },
);
type Settings = Static<typeof FsSettings>;
/** Volumes of an fs pool have no options of their own. */
export const FsVolumeOptions = Type.Object({}, { additionalProperties: false });

const deviceOf = (def: PoolDefinition<Settings>) => def.source.devices[0]!;
const formatOf = (def: PoolDefinition<Settings>): FsFormat => def.source.fsFormat ?? 'ext4';

/**
 * The `fs` pool: a block device with a file system that build makes and start mounts at the target.
 * Its volumes are files, exactly as in a `dir` pool (reflink clones on xfs and btrfs).
 */
export const fsDriver: StorageDriver<Settings, Static<typeof FsVolumeOptions>> = {
  listsWhenStopped: false,
  ...fileVolumeOps,

  async validate(def) {
    const { devices, fsFormat } = def.source;
    if (devices?.length !== 1) throw errors.invalid('an fs pool needs exactly one source device (--source /dev/X)');
    return { ...def, target: await resolveTargetDir(def.target), source: { devices: [checkDevicePath(devices[0])], fsFormat: fsFormat ?? 'ext4' } };
  },

  resources: (def) => ({ directories: [def.target], devices: def.source.devices }),

  async build(def, ctx, options = {}) {
    const device = deviceOf(def);
    const format = formatOf(def);
    const size = await blockDeviceSize(device);
    const existing = await fileSystemOn(device);
    // A second build of what kvmpool built: nothing to do but the mount point.
    if (!options.overwrite && existing && options.built?.includes(`${UUID}${existing.uuid}`)) return makeTargetDir(def.target);
    assertFitsFileSystem(device, format, size);
    await assertDeviceFree(device);
    await assertDeviceEmpty(device, options.overwrite === true);
    const target = await stat(def.target).catch(absent);
    if (target && !target.isDirectory()) throw errors.invalid(`target '${def.target}' exists and is not a directory`, { target: def.target });
    if (options.overwrite) await wipeSignatures(device);
    ctx.log(`making ${format} on ${device}`);
    return Reverter.run(ctx.log, async (r) => {
      // Registered before mkfs: one that fails part way may have written a signature already.
      r.add(`wipe the signatures on ${device}`, () => wipeSignatures(device));
      await makeFileSystem(device, format);
      const made = await fileSystemOn(device);
      if (!made) throw new KvmpoolError('INTERNAL', `mkfs left no file system on ${device}`);
      return [`${UUID}${made.uuid}`, ...(await makeTargetDir(def.target))];
    });
  },

  async start(def) {
    const device = deviceOf(def);
    await blockDeviceSize(device);
    const mounted = await mountAt(def.target);
    if (mounted && (await sameDevice(mounted.source, device))) return;
    if (mounted) throw errors.inUse(`${mounted.source} is already mounted at ${def.target}`, { target: def.target, source: mounted.source });
    const fs = await fileSystemOn(device);
    if (!fs) throw new KvmpoolError('POOL_NOT_BUILT', `pool '${def.name}' is not built: ${device} has no file system (run 'pool build')`, { pool: def.name, device });
    if (fs.type !== formatOf(def)) throw new KvmpoolError('POOL_NOT_BUILT', `${device} holds ${fs.type}, pool '${def.name}' expects ${formatOf(def)}`, { pool: def.name, device, found: fs.type });
    if (!(await stat(def.target).catch(absent))?.isDirectory()) {
      throw new KvmpoolError('POOL_NOT_BUILT', `pool '${def.name}' is not built: mount point ${def.target} is missing (run 'pool build')`, { pool: def.name });
    }
    const elsewhere = await mountsOf(device);
    if (elsewhere.length > 0) throw errors.inUse(`device ${device} is already mounted at ${elsewhere[0]!.target}`, { device, target: elsewhere[0]!.target });
    await mount(device, def.target, fs.type, MOUNT_OPTIONS);
  },

  async stop(def) {
    const mounted = await mountAt(def.target);
    if (mounted && (await sameDevice(mounted.source, deviceOf(def)))) await umount(def.target);
  },

  async delete(def, created) {
    const device = deviceOf(def);
    const mounted = await mountAt(def.target);
    if (mounted) throw new KvmpoolError('POOL_ACTIVE', `${def.target} is still mounted: stop pool '${def.name}' first`, { pool: def.name });
    // Only the file system build made is erased (a device formatted since is left alone), and only
    // when it holds no files: the pool is stopped, so its volumes cannot be seen at the target.
    const fs = await fileSystemOn(device).catch(absent);
    const ours = fs !== undefined && created.includes(`${UUID}${fs.uuid}`);
    if (ours) {
      await assertDeviceFree(device);
      const files = await filesOn(device, fs.type);
      if (files.length > 0) {
        throw new KvmpoolError('POOL_NOT_EMPTY', `cannot delete pool '${def.name}': its file system still holds ${files.slice(0, 5).join(', ')} (start it and delete the volumes first)`, {
          pool: def.name,
          files,
        });
      }
    }
    await removeTargetDirs(def, created);
    if (ours) await wipeSignatures(device);
  },

  async status(def): Promise<PoolStatus> {
    const empty = { capacity: 0, allocation: 0, available: 0 };
    const device = deviceOf(def);
    const mounted = await mountAt(def.target).catch(absent);
    if (!mounted || !(await sameDevice(mounted.source, device))) return { state: 'degraded', reason: `${device} is not mounted at ${def.target}`, ...empty };
    return { state: 'running', ...(await fsUsage(def.target)) };
  },
};

/** The entries at the root of the file system on `device` (lost+found aside), read from a private read-only mount. */
async function filesOn(device: string, fstype: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kvmpool-check-'));
  try {
    await mount(device, dir, fstype, ['ro', ...MOUNT_OPTIONS]);
    try {
      return (await readdir(dir)).filter((n) => n !== 'lost+found');
    } finally {
      await umount(dir);
    }
  } finally {
    await rmdir(dir);
  }
}
