import { KvmpoolClient } from '../client/client.js';
import { resolveHome } from '../daemon/home.js';

/** Global CLI options. */
export interface GlobalOptions {
  home?: string;
  json?: boolean;
}

/** A client for the daemon: KVMPOOL_URL + KVMPOOL_TOKEN over TCP, else the socket of `--home`/KVMPOOL_HOME/./var. */
export function connect(opts: GlobalOptions): KvmpoolClient {
  const url = process.env['KVMPOOL_URL'];
  if (url && !opts.home) return new KvmpoolClient({ url, token: process.env['KVMPOOL_TOKEN'] ?? '' });
  return new KvmpoolClient({ socketPath: resolveHome(opts.home).socket });
}
