import type { CreateVolumeInput } from '../../services/storage/volumes.js';
import type { CloneInput } from '../../services/storage/volume-data.js';
import type { ApiServices, Handlers } from '../handlers.js';

/** Handlers of the volume operations. */
export function volumeHandlers(s: ApiServices): Pick<Handlers, 'listVolumes' | 'createVolume' | 'getVolume' | 'deleteVolume' | 'resizeVolume' | 'renameVolume' | 'cloneVolume' | 'wipeVolume'> {
  return {
    listVolumes: async ({ params }) => ({ body: await s.volumes.list(params['pool']!) }),
    createVolume: async ({ params, body }) => {
      const out = await s.volumes.create(params['pool']!, body as unknown as CreateVolumeInput);
      return 'job' in out ? { status: 202, body: out } : { status: 201, body: out.volume };
    },
    getVolume: async ({ params }) => ({ body: await s.volumes.info(params['pool']!, params['volume']!) }),
    deleteVolume: async ({ params, query }) => {
      await s.volumes.delete(params['pool']!, params['volume']!, query['force'] === true);
      return {};
    },
    resizeVolume: async ({ params, body }) => ({
      body: await s.volumes.resize(params['pool']!, params['volume']!, body['capacity'] as number | string, body['shrink'] === true, body['force'] === true),
    }),
    renameVolume: async ({ params, body }) => ({ body: await s.volumes.rename(params['pool']!, params['volume']!, String(body['name']), body['force'] === true) }),
    cloneVolume: async ({ params, body }) => ({ body: { job: await s.data.clone(params['pool']!, params['volume']!, body as unknown as CloneInput) } }),
    wipeVolume: async ({ params, body }) => ({ body: { job: await s.data.wipe(params['pool']!, params['volume']!, body['algorithm'] as string | undefined, body['verify'] === true, body['force'] === true) } }),
  };
}
