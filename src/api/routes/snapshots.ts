import type { ApiServices, Handlers } from '../handlers.js';

/** Handlers of the snapshot operations. */
export function snapshotHandlers(s: ApiServices): Pick<Handlers, 'listSnapshots' | 'createSnapshot' | 'revertSnapshot' | 'deleteSnapshot'> {
  return {
    listSnapshots: async ({ params }) => ({ body: await s.snapshots.list(params['pool']!, params['volume']!) }),
    createSnapshot: async ({ params, body }) => ({
      body: await s.snapshots.create(params['pool']!, params['volume']!, String(body['name']), body['size'] !== undefined ? { size: body['size'] as number | string } : {}),
    }),
    revertSnapshot: async ({ params }) => ({ body: { job: await s.snapshots.revert(params['pool']!, params['volume']!, params['snapshot']!) } }),
    deleteSnapshot: async ({ params }) => {
      await s.snapshots.delete(params['pool']!, params['volume']!, params['snapshot']!);
      return {};
    },
  };
}
