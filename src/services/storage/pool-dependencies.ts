import { KvmpoolError, errors } from '../../model/errors.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool, PoolGate } from './pool-gate.js';

type Pool = Pick<ActivePool, 'rec' | 'def' | 'driver'>;

/** The devices of `user` that `provider`'s volumes are. */
async function devicesFrom(provider: Pool, user: Pool): Promise<string[]> {
  if (!provider.driver.provides) return [];
  const found: string[] = [];
  for (const d of user.driver.resources(user.def).devices ?? []) if (await provider.driver.provides(provider.def, d)) found.push(d);
  return found;
}

/** The other pools this daemon knows, as the gate sees them. */
const others = (ctx: ServiceContext, gate: PoolGate, name: string): Pool[] => ctx.store.pools.list().filter((r) => r.name !== name && gate.known(r)).map((r) => gate.view(r));

/** POOL_NOT_ACTIVE, naming it, when a pool that provides one of `p`'s devices is stopped (start `san` before the VG on its LUN). */
export async function assertProvidersRunning(ctx: ServiceContext, gate: PoolGate, p: Pool): Promise<void> {
  for (const provider of others(ctx, gate, p.rec.name)) {
    const needed = await devicesFrom(provider, p);
    if (needed.length > 0 && !provider.rec.active) {
      throw new KvmpoolError('POOL_NOT_ACTIVE', `pool '${p.rec.name}' is on ${needed[0]} of pool '${provider.rec.name}', which is not running: start '${provider.rec.name}' first`, {
        pool: p.rec.name,
        requires: provider.rec.name,
        device: needed[0],
      });
    }
  }
}

/** IN_USE, naming it, while a running pool is on one of `p`'s volumes (a VG on an iscsi pool's LUN). */
export async function assertNoDependents(ctx: ServiceContext, gate: PoolGate, p: Pool): Promise<void> {
  for (const user of others(ctx, gate, p.rec.name).filter((o) => o.rec.active)) {
    const used = await devicesFrom(p, user);
    if (used.length > 0) throw errors.inUse(`pool '${user.rec.name}' runs on ${used[0]} of pool '${p.rec.name}': stop '${user.rec.name}' first`, { pool: p.rec.name, usedBy: user.rec.name, device: used[0] });
  }
}
