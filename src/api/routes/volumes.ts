import { volumeRef } from '../../model/names.js';
import { MAX_PAGE } from '../../model/volume-types.js';
import type { ApiServices, Handlers } from '../handlers.js';

type VolumeOps = 'listVolumes' | 'createVolume' | 'getVolume' | 'deleteVolume' | 'resizeVolume' | 'renameVolume' | 'cloneVolume' | 'wipeVolume' | 'flattenVolume';

/** Handlers of the volume operations; a volume reference is checked once, here. */
export function volumeHandlers(s: ApiServices): Pick<Handlers, VolumeOps> {
  return {
    listVolumes: async ({ params, query }) => {
      const paged = query.limit !== undefined || query.after !== undefined;
      return { body: await s.volumes.list(params.pool, paged ? { limit: query.limit ?? MAX_PAGE, ...(query.after !== undefined ? { after: query.after } : {}) } : undefined) };
    },
    createVolume: async ({ params, body }) => {
      const out = await s.volumes.create(params.pool, body);
      return 'job' in out ? { status: 202, body: out } : { status: 201, body: out.volume };
    },
    getVolume: async ({ params }) => ({ body: await s.volumes.info(volumeRef(params.pool, params.volume)) }),
    deleteVolume: async ({ params, query }) => {
      await s.volumes.delete(volumeRef(params.pool, params.volume), query.force === true, query.defer === true);
      return {};
    },
    resizeVolume: async ({ params, body }) => ({ body: await s.volumes.resize(volumeRef(params.pool, params.volume), body.capacity, body.shrink === true, body.force === true) }),
    renameVolume: async ({ params, body }) => ({ body: await s.volumes.rename(volumeRef(params.pool, params.volume), body.name, body.force === true) }),
    cloneVolume: async ({ params, body }) => ({ body: { job: await s.data.clone(volumeRef(params.pool, params.volume), body) } }),
    flattenVolume: async ({ params }) => ({ body: { job: await s.data.flatten(volumeRef(params.pool, params.volume)) } }),
    wipeVolume: async ({ params, body }) => ({ body: { job: await s.data.wipe(volumeRef(params.pool, params.volume), body.algorithm, body.verify === true, body.force === true) } }),
  };
}
