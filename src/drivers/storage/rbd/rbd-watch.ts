import type { RbdPlace } from '../../../host/rbd.js';
import { watchImages } from '../../../host/rbd-scan.js';
import type { VolumeWatch, WatchSignal } from '../driver.js';
import { isInternal } from './rbd-images.js';

/** Seconds between looks at the pool's image names (and at their stamps, where reading them is quick). */
const LOOK_EVERY_S = 2;

/**
 * The pool's change signal: rbd-scan looks at its directory and its images' stamps over one
 * connection, opening no image. What kvmpool itself changes is seen too, and read again once (the
 * changes of a round together). A listing has the names looked at first: an image made or removed
 * just before shows; other changes show within a few seconds. Resolves once the first look is done; a watch that ends (the cluster
 * stopped answering) is lost, and no longer intact, so the next listing watches anew.
 */
export function watchPool(p: RbdPlace, signal: WatchSignal): Promise<VolumeWatch> {
  return new Promise((resolve, reject) => {
    let ready = false;
    let ended = false;
    const watch: VolumeWatch = { close: () => handle.close(), intact: async () => !ended, settle: () => handle.look() };
    const handle = watchImages(
      p,
      LOOK_EVERY_S,
      (change) => {
        if ('ready' in change) {
          ready = true;
          resolve(watch);
          return;
        }
        const what = 'entry' in change ? 'entry' : 'content';
        const names = ('entry' in change ? change.entry : change.content).filter((n) => !isInternal(n));
        if (names.length > 0) signal.changed(names, what);
      },
      (reason) => {
        ended = true;
        if (ready) signal.lost(reason);
        else reject(new Error(reason));
      },
    );
  });
}
