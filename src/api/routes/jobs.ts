import type { ApiServices, Handlers } from '../handlers.js';

/** Handlers of the job operations. */
export function jobHandlers(s: ApiServices): Pick<Handlers, 'listJobs' | 'getJob' | 'cancelJob'> {
  return {
    listJobs: async () => ({ body: s.jobs.list() }),
    getJob: async ({ params }) => ({ body: s.jobs.get(params.id) }),
    cancelJob: async ({ params }) => ({ body: s.jobs.cancel(params.id) }),
  };
}
