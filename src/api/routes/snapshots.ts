import { volumeRef } from '../../model/names.js';
import type { ApiServices, Handlers } from '../handlers.js';

/** Handlers of the snapshot operations. */
export function snapshotHandlers(s: ApiServices): Pick<Handlers, 'listSnapshots' | 'createSnapshot' | 'revertSnapshot' | 'deleteSnapshot'> {
  return {
    listSnapshots: async ({ params }) => ({ body: await s.snapshots.list(volumeRef(params.pool, params.volume)) }),
    createSnapshot: async ({ params, body }) => ({
      body: await s.snapshots.create(volumeRef(params.pool, params.volume), body.name, body.size !== undefined ? { size: body.size } : {}),
    }),
    revertSnapshot: async ({ params }) => ({ body: { job: await s.snapshots.revert(volumeRef(params.pool, params.volume), params.snapshot) } }),
    deleteSnapshot: async ({ params }) => {
      await s.snapshots.delete(volumeRef(params.pool, params.volume), params.snapshot);
      return {};
    },
  };
}
