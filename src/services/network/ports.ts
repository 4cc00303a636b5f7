import { KvmpoolError, errors } from '../../model/errors.js';
import { MAX_IFNAME_BYTES, hostSideMac, parseVlanList, randomIfname, randomMac, validateIfname, validateMac, validateMtu, validateVlanId } from '../../model/ifnames.js';
import { validateName } from '../../model/names.js';
import { PORT_TYPES, type PortDefinition, type PortInfo, type PortType } from '../../model/network-types.js';
import type { PortRecord } from '../../state/store.js';
import { networkDriver } from '../../drivers/network/registry.js';
import { createPortLinks, deletePortLinks, portAttached, portLinkState } from '../../drivers/network/port-links.js';
import { deleteOwned, isOwned, networkAlias, portAlias } from '../../drivers/network/owned-links.js';
import { networkHost } from '../../drivers/network/host-state.js';
import type { ServiceContext } from '../context.js';
import { Reverter } from '../../model/reverter.js';
import { announce, journaled, operate } from '../operation.js';
import { networkLock, type NetworkService } from './networks.js';

/** What `create` accepts. */
export interface CreatePortInput {
  name: string;
  type?: string;
  vlan?: number | string;
  trunk?: string | number[];
  native?: number | string;
  mac?: string;
  mtu?: number;
  ifname?: string;
  peer?: string;
}

/** Journal kind of a port being created: its interfaces are removed after a crash unless it was recorded. */
export const JOURNAL_PORT_CREATE = 'port.create';

/** Prefix of generated port interface names (`kv` + 8 hex digits). */
const IFNAME_PREFIX = 'kv';

/** Ports of networks: taps for VMs, veth pairs for containers and tests. */
export class PortService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly networks: NetworkService,
  ) {}

  async create(network: string, input: CreatePortInput): Promise<PortInfo> {
    const name = validateName('port', input.name);
    const type = (input.type ?? 'tap') as PortType;
    if (!PORT_TYPES.includes(type)) throw errors.invalid(`unknown port type '${input.type}': expected ${PORT_TYPES.join(', ')}`, { type: input.type });
    const vlans = {
      ...(input.vlan !== undefined ? { vlan: validateVlanId(input.vlan) } : {}),
      ...(input.trunk !== undefined ? { trunk: parseVlanList(input.trunk) } : {}),
      ...(input.native !== undefined ? { native: validateVlanId(input.native) } : {}),
    };
    const mtu = input.mtu !== undefined ? validateMtu(input.mtu) : undefined;
    const wantedMac = input.mac !== undefined ? validateMac(input.mac) : undefined;
    const wantedIfname = input.ifname !== undefined ? validateIfname('interface name', input.ifname) : undefined;
    const wantedPeer = input.peer !== undefined ? validateIfname('peer name', input.peer) : undefined;
    if (wantedPeer && type !== 'veth') throw errors.invalid('only veth ports have a peer', { peer: wantedPeer });

    // The network's lock, and the one of all ports: names and MACs are unique across networks.
    await operate(this.ctx, 'port.create', [networkLock(network), 'ports'], async () => {
      const net = this.networks.record(network);
      const driver = networkDriver(net.kind);
      driver.validatePort(net, vlans);
      if (!net.active) throw new KvmpoolError('NETWORK_NOT_ACTIVE', `network '${network}' is not running: start it first`, { network });
      const host = await networkHost.links();
      if (!isOwned(host.find((l) => l.ifname === net.bridge), networkAlias(network))) {
        throw new KvmpoolError('NETWORK_NOT_ACTIVE', `network '${network}' has lost its bridge ${net.bridge} (see net info): restart the daemon or the network`, { network });
      }
      const all = this.ctx.store.ports.list();
      if (all.some((p) => p.network === network && p.name === name)) throw errors.exists('port', `${network}/${name}`);
      const taken = new Set([...host.map((l) => l.ifname), ...all.flatMap((p) => [p.ifname, p.peer ?? ''])]);
      const ifname = wantedIfname ?? unused(taken, () => randomIfname(IFNAME_PREFIX));
      if (wantedIfname && taken.has(wantedIfname)) throw errors.exists('interface', wantedIfname);
      const peer = type === 'veth' ? (wantedPeer ?? peerName(ifname, taken)) : undefined;
      if (peer && (taken.has(peer) || peer === ifname)) throw errors.exists('interface', peer);
      // Guest MACs and their host-side twins (hostSideMac) are all distinct.
      const macs = new Set(all.flatMap((p) => [p.mac, hostSideMac(p.mac)]));
      if (wantedMac && (macs.has(wantedMac) || macs.has(hostSideMac(wantedMac)))) throw errors.exists('MAC address', wantedMac);
      const port: PortRecord = {
        network,
        name,
        type,
        ifname,
        ...(peer ? { peer } : {}),
        mac: wantedMac ?? unused(macs, () => randomMac()),
        ...(mtu ? { mtu } : {}),
        ...vlans,
        created: new Date().toISOString(),
      };
      await journaled(this.ctx, JOURNAL_PORT_CREATE, { network, name, ifname }, () =>
        Reverter.run(this.ctx.log, async (r) => {
          await createPortLinks(port, net.bridge, mtu ?? net.mtu, this.ctx.log);
          r.add(`delete port ${ifname}`, () => deletePortLinks(port));
          const ports = [...this.ctx.store.ports.list(network), port];
          await driver.plugPort(net, port, ports);
          this.ctx.store.ports.put(port);
        }),
      );
      announce(this.ctx, 'port.created', `${network}/${name}`, `port ${network}/${name}: created (${type} ${ifname})`, { ifname });
    });
    return this.info(network, name);
  }

  async list(network: string): Promise<PortInfo[]> {
    const net = this.networks.record(network);
    const [host, held] = [await networkHost.links(), await networkHost.tapsInUse()];
    return this.ctx.store.ports.list(network).map((p) => ({ ...strip(p), state: portLinkState(p, host, net.bridge), attached: portAttached(p, host, held) }));
  }

  async info(network: string, name: string): Promise<PortInfo> {
    const found = (await this.list(network)).find((p) => p.name === validateName('port', name));
    if (!found) throw errors.notFound('port', `${network}/${name}`);
    return found;
  }

  /** Deletes a port and its interfaces; refused while it is in use unless `force`. */
  async delete(network: string, name: string, force = false): Promise<void> {
    await operate(this.ctx, 'port.delete', [networkLock(network)], async () => {
      const net = this.networks.record(network);
      const port = this.ctx.store.ports.list(network).find((p) => p.name === name);
      if (!port) throw errors.notFound('port', `${network}/${name}`);
      if (!force && (port.usedBy || portAttached(port, await networkHost.links(), await networkHost.tapsInUse()))) {
        throw errors.inUse(`port ${network}/${name} is in use${port.usedBy ? ` by ${port.usedBy}` : ''} (use force to delete it anyway)`, { port: `${network}/${name}`, usedBy: port.usedBy });
      }
      await deletePortLinks(port);
      this.ctx.store.ports.delete(network, name);
      if (net.active) await networkDriver(net.kind).portRemoved(net, this.ctx.store.ports.list(network));
      announce(this.ctx, 'port.deleted', `${network}/${name}`, `port ${network}/${name}: deleted`);
    });
  }

  /**
   * Repairs what a crash interrupted, from the journal (on daemon start): the interfaces of a port whose
   * create was cut short before it was recorded are removed (only kvmpool's, by their alias).
   */
  async recover(): Promise<void> {
    for (const entry of this.ctx.store.journal.list().filter((e) => e.kind === JOURNAL_PORT_CREATE)) {
      const { network, name, ifname } = entry.data as { network?: string; name?: string; ifname?: string };
      try {
        if (network && name && ifname && !this.ctx.store.ports.list(network).some((p) => p.name === name)) {
          await deleteOwned(ifname, portAlias(network, name));
          this.ctx.log(`recover: removed the interfaces of port ${network}/${name}, whose create was interrupted`);
        }
      } catch (e) {
        this.ctx.log(`recover: ${entry.kind} ${JSON.stringify(entry.data)}: ${e instanceof Error ? e.message : String(e)}`);
      }
      this.ctx.store.journal.remove(entry.id);
    }
  }

  /** Records who uses a port (a VM), or that nobody does (null); a port has one user at a time. */
  async setUsedBy(network: string, name: string, user: string | null): Promise<void> {
    await operate(this.ctx, 'port.use', [networkLock(network)], async () => {
      const port = this.ctx.store.ports.list(network).find((p) => p.name === name);
      if (!port) throw errors.notFound('port', `${network}/${name}`);
      if (user && port.usedBy && port.usedBy !== user) throw errors.inUse(`port ${network}/${name} is used by ${port.usedBy}`, { usedBy: port.usedBy });
      const { usedBy: _u, ...rest } = port;
      this.ctx.store.ports.put(user ? { ...rest, usedBy: user } : rest);
    });
  }
}

function strip(p: PortRecord): PortDefinition {
  const { created: _c, ...def } = p;
  return def;
}

/** A veth peer is named after its bridge end plus `p`, or gets a name of its own when that does not fit. */
function peerName(ifname: string, taken: Set<string>): string {
  const named = `${ifname}p`;
  if (Buffer.byteLength(named) <= MAX_IFNAME_BYTES && !taken.has(named)) return named;
  return unused(taken, () => `${randomIfname(IFNAME_PREFIX)}p`);
}

/** A value from `make` that is not in `taken` (random values: a retry on the rare collision). */
function unused(taken: Set<string>, make: () => string): string {
  for (;;) {
    const v = make();
    if (!taken.has(v)) return v;
  }
}
