import { KvmpoolError, errors } from '../../../model/errors.js';
import type { PoolDefinition } from '../../../model/pool-types.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import { assertDeviceFree } from '../../../host/blockdev.js';
import { processesUsing } from '../../../host/open-files.js';
import type { StorageDriver } from '../driver.js';
import { wipeBlockVolume, zeroRange } from './block-data.js';

/** What the pools of LUNs made elsewhere (iscsi, scsi) do with one: all of it in place, none of it making or removing LUNs. */
export type LunVolumeOps = Pick<StorageDriver<never>, 'probe' | 'volumeUsers' | 'access' | 'transfers' | 'wipe'>;

/** The volume operations of a pool whose volumes are existing LUNs, read again by `read`. */
export function lunVolumeOps<D extends PoolDefinition<never>>(read: (def: D, name: string) => Promise<VolumeFacts>): LunVolumeOps {
  const again = (def: PoolDefinition<never>, vol: VolumeFacts) => read(def as D, vol.name);
  return {
    probe: async () => ({ reflink: false, directIO: true }),
    async volumeUsers(_def, vol) {
      const users = (await processesUsing(vol.path)).map((u) => `${u.command}[${u.pid}]`);
      if (users.length > 0) return users;
      return assertDeviceFree(vol.path).then(
        () => [],
        (e: unknown) => {
          if (e instanceof KvmpoolError && e.code === 'IN_USE') return ['the kernel (mounted, or under another device)'];
          throw e;
        },
      );
    },
    access: (_def, vol) => ({ access: { kind: 'block', path: vol.path }, directIO: true, discard: false }),
    transfers: {
      dataExtents: async (_def, vol) => [{ start: 0, length: vol.capacity, data: true }],
      // A LUN is written in place: there is nowhere to stage a second copy.
      stage: async (_def, vol) => ({ access: { kind: 'block', path: vol.path }, create: false, zeroHoles: true }),
      async commit(def, vol, _stage, end, grow) {
        if (grow) throw errors.notSupported('an upload cannot grow a LUN: grow it where it is made');
        if (end > vol.capacity) throw errors.invalid(`the upload is ${end} bytes, larger than the LUN (${vol.capacity})`);
        await zeroRange(vol.path, end, vol.capacity);
        return again(def, vol);
      },
      discard: async () => {},
    },
    wipe: {
      wipe: async (def, vol, algorithm, verify, ctx) => {
        await wipeBlockVolume(vol, algorithm, verify, false, ctx);
        return again(def, vol);
      },
    },
  };
}
