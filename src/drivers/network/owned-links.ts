import * as iproute from '../../host/iproute.js';
import type { IpLink } from '../../host/iproute.js';
import { KvmpoolError } from '../../model/errors.js';

/**
 * kvmpool marks every interface it creates with an alias (`ip link set alias`), and deletes or changes
 * only interfaces that carry its mark: an interface of the same name made by someone else is left alone.
 */
export const networkAlias = (network: string) => `kvmpool:${network}`;
export const portAlias = (network: string, port: string) => `kvmpool:${network}/${port}`;

export const isOwned = (l: IpLink | undefined, alias: string): l is IpLink => l?.ifalias === alias;

/** Fails when `name` exists and is not kvmpool's `alias`; tells whether it exists (and is ours). */
export function claimName(all: IpLink[], name: string, alias: string): boolean {
  const found = all.find((l) => l.ifname === name);
  if (!found) return false;
  if (found.ifalias !== alias) {
    throw new KvmpoolError('ALREADY_EXISTS', `interface '${name}' already exists and kvmpool did not create it`, { interface: name });
  }
  return true;
}

/** Deletes `name` if it exists and is kvmpool's `alias`; leaves anything else. */
export async function deleteOwned(name: string, alias: string): Promise<void> {
  if (isOwned(await iproute.link(name), alias)) await iproute.deleteLink(name);
}
