import { watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fallback } from '../../../model/ignore.js';
import type { VolumeWatch, WatchSignal } from '../driver.js';
import { reflinkSnapshotsByVolume } from './file-snapshots.js';
import { isVolumeName } from './file-volumes.js';

/**
 * Watches a file pool's directory (inotify): a volume file created, written, removed or renamed by
 * anyone is named to `signal.changed`, and so is a raw volume whose reflink snapshot file changed. Part
 * files of volumes being made are not volumes yet: their link under the volume's name is the change.
 * libuv drops inotify's queue overflow without a word, and names the directory itself when it goes:
 * `intact` compares the directory with the one watched, and the caller guards against floods.
 */
export async function watchFileVolumes(dir: string, signal: WatchSignal): Promise<VolumeWatch> {
  const identity = async () => {
    const st = await stat(dir);
    return `${st.dev}:${st.ino}`;
  };
  const watched = await identity();
  // Node names inotify's create, delete and move events `rename`, and modify and attribute events `change`.
  const watcher = watch(dir, { persistent: false }, (event, file) => {
    if (file === null) return signal.lost(`a change in ${dir} came without a file name`);
    const what = event === 'rename' ? 'entry' : 'content';
    if (isVolumeName(file)) return signal.changed([file], what);
    const snapshotOf = [...reflinkSnapshotsByVolume([file]).keys()];
    if (snapshotOf.length > 0) signal.changed(snapshotOf, 'entry');
  });
  watcher.on('error', (e) => signal.lost(`the watch of ${dir} failed: ${e.message}`));
  return {
    close: () => watcher.close(),
    // A directory that cannot be looked at is not the one watched.
    intact: async () => (await identity().catch(fallback(''))) === watched,
  };
}
