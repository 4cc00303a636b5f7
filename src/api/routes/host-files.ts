import { KvmpoolError } from '../../model/errors.js';
import { volumeRef } from '../../model/names.js';
import type { ApiServices, Caller, Handlers } from '../handlers.js';

type HostFileOps = 'uploadVolumeFile' | 'downloadVolumeFile';

/**
 * A file of the daemon's host is read or written by the daemon itself, as root: only a caller that
 * reached it over the unix socket (root only, by its mode) may name one. TCP clients stream the bytes.
 */
function requireLocal(caller: Caller): void {
  if (!caller.local) throw new KvmpoolError('FORBIDDEN', "a file of the daemon's host can be named only over its unix socket; stream the content instead (PUT or GET .../content)");
}

/** Handlers of uploads from and downloads into files of the daemon's own host (jobs). */
export function hostFileHandlers(s: ApiServices): Pick<Handlers, HostFileOps> {
  return {
    uploadVolumeFile: async ({ params, body, caller }) => {
      requireLocal(caller);
      const { file, ...options } = body;
      return { body: { job: await s.transfers.uploadFromFile(volumeRef(params.pool, params.volume), file, options) } };
    },
    downloadVolumeFile: async ({ params, body, caller }) => {
      requireLocal(caller);
      const range = { ...(body.offset !== undefined ? { offset: body.offset } : {}), ...(body.length !== undefined ? { length: body.length } : {}) };
      return { body: { job: await s.transfers.downloadToFile(volumeRef(params.pool, params.volume), body.file, range, { sparse: body.sparse === true, verify: body.verify === true, ...(body.seen ? { seen: body.seen } : {}) }) } };
    },
  };
}
