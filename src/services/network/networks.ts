import * as iproute from '../../host/iproute.js';
import type { IpLink } from '../../host/iproute.js';
import { KvmpoolError, errors } from '../../model/errors.js';
import { validateIfname, validateMtu, validateVlanId } from '../../model/ifnames.js';
import { validateName } from '../../model/names.js';
import type { NetworkDefinition, NetworkInfo } from '../../model/network-types.js';
import type { NetworkRecord } from '../../state/store.js';
import { networkDriver } from '../../drivers/network/registry.js';
import { claimName, networkAlias } from '../../drivers/network/owned-links.js';
import { createPortLinks, deletePortLinks, portState } from '../../drivers/network/port-links.js';
import type { ServiceContext } from '../context.js';
import { Reverter } from '../reverter.js';

/** What `define` accepts. */
export interface DefineNetworkInput {
  name: string;
  kind: string;
  bridge?: string;
  uplink?: string;
  vlan?: number | string;
  mtu?: number;
  autostart?: boolean;
}

/** Lock name of a network (its lifecycle and its ports). */
export const networkLock = (network: string) => `network:${network}`;

/** Network lifecycle: define, start, stop, undefine, autostart, and bringing networks back at daemon start. */
export class NetworkService {
  constructor(
    private readonly ctx: ServiceContext,
    /** Hosts the API listens on: an uplink carrying one of them is not taken without force. */
    private readonly apiHosts: () => readonly string[],
  ) {}

  async define(input: DefineNetworkInput): Promise<NetworkInfo> {
    const name = validateName('network', input.name);
    const driver = networkDriver(input.kind);
    const def: NetworkDefinition = {
      name,
      kind: driver.kind,
      bridge: validateIfname('bridge name', input.bridge ?? defaultBridge(name)),
      ...(input.uplink !== undefined ? { uplink: validateIfname('uplink', input.uplink) } : {}),
      ...(input.vlan !== undefined ? { vlan: validateVlanId(input.vlan) } : {}),
      ...(input.mtu !== undefined ? { mtu: validateMtu(input.mtu) } : {}),
      autostart: input.autostart ?? false,
    };
    return this.ctx.locks.with('networks', 'define', async () => {
      if (this.ctx.store.getNetwork(name)) throw errors.exists('network', name);
      const host = await iproute.links();
      driver.validate(def, this.ctx.store.listNetworks(), host);
      claimName(host, def.bridge, networkAlias(name));
      this.ctx.store.putNetwork({ ...def, active: false, bootId: null, changes: null, created: new Date().toISOString() });
      this.ctx.events.emit('network.defined', name);
      this.ctx.log(`network ${name}: defined (${def.kind}, bridge ${def.bridge}${def.uplink ? `, uplink ${def.uplink}` : ''})`);
      return this.info(name);
    });
  }

  async list(): Promise<NetworkInfo[]> {
    const host = await iproute.links();
    return this.ctx.store.listNetworks().map((n) => this.describe(n, host));
  }

  async info(name: string): Promise<NetworkInfo> {
    return this.describe(this.record(name), await iproute.links());
  }

  /** Creates the network's interfaces and its ports' as one change: a failure undoes every step. */
  async start(name: string, force = false): Promise<NetworkInfo> {
    await this.ctx.locks.with(networkLock(name), 'start', async () => {
      const rec = this.record(name);
      if (rec.active && rec.bootId === this.ctx.bootId) return;
      const driver = networkDriver(rec.kind);
      const others = this.ctx.store.listNetworks().filter((n) => n.name !== name);
      driver.validate(rec, others, await iproute.links());
      await Reverter.run(this.ctx.log, async (r) => {
        const changes = await driver.start(rec, { apiHosts: this.apiHosts(), force }, r);
        const ports = this.ctx.store.listPorts(name);
        for (const port of ports) {
          if (await createPortLinks(port, rec.bridge, port.mtu ?? rec.mtu)) r.add(`delete port ${port.ifname}`, () => deletePortLinks(port));
          await driver.plugPort(rec, port, ports);
        }
        this.ctx.store.putNetwork({ ...rec, active: true, bootId: this.ctx.bootId, changes });
      });
      this.ctx.events.emit('network.started', name);
      this.ctx.log(`network ${name}: started`);
    });
    return this.info(name);
  }

  /** Removes the network's interfaces; refused while a port is in use unless `force`. */
  async stop(name: string, force = false): Promise<NetworkInfo> {
    await this.ctx.locks.with(networkLock(name), 'stop', async () => {
      const rec = this.record(name);
      if (!rec.active) return;
      const ports = this.ctx.store.listPorts(name);
      if (!force) {
        const host = await iproute.links();
        const busy = ports.filter((p) => p.usedBy || portState(p, host, rec.bridge).attached);
        if (busy.length > 0) {
          throw errors.inUse(`network '${name}' has ports in use: ${busy.map((p) => `${p.name}${p.usedBy ? ` (${p.usedBy})` : ''}`).join(', ')} (use force to stop anyway)`, {
            network: name,
            ports: busy.map((p) => p.name),
          });
        }
      }
      for (const port of ports) await deletePortLinks(port);
      await networkDriver(rec.kind).stop(rec, rec.changes);
      this.ctx.store.putNetwork({ ...rec, active: false, changes: null });
      this.ctx.events.emit('network.stopped', name);
      this.ctx.log(`network ${name}: stopped`);
    });
    return this.info(name);
  }

  async setAutostart(name: string, autostart: boolean): Promise<NetworkInfo> {
    await this.ctx.locks.with(networkLock(name), 'autostart', async () => {
      this.ctx.store.putNetwork({ ...this.record(name), autostart });
    });
    return this.info(name);
  }

  /** Forgets a stopped network and its ports. */
  async undefine(name: string): Promise<void> {
    await this.ctx.locks.with(networkLock(name), 'undefine', async () => {
      const rec = this.record(name);
      if (rec.active) throw new KvmpoolError('NETWORK_ACTIVE', `network '${name}' is running: stop it first`, { network: name });
      const used = this.ctx.store.listPorts(name).filter((p) => p.usedBy);
      if (used.length > 0) throw errors.inUse(`ports of network '${name}' are given to ${used.map((p) => p.usedBy).join(', ')}`, { network: name });
      this.ctx.store.deleteNetwork(name);
      this.ctx.events.emit('network.undefined', name);
      this.ctx.log(`network ${name}: undefined`);
    });
  }

  /**
   * At daemon start: networks that ran in this boot are checked and their missing pieces put back;
   * networks marked autostart (or that ran before a reboot) are started. What drifted is logged and
   * sent as `network.drift` events.
   */
  async startup(): Promise<void> {
    for (const rec of this.ctx.store.listNetworks()) {
      try {
        if (rec.active && rec.bootId === this.ctx.bootId) await this.repair(rec);
        else if (rec.autostart || rec.active) {
          if (rec.active) this.ctx.store.putNetwork({ ...rec, active: false, changes: null });
          await this.start(rec.name);
        }
      } catch (e) {
        this.ctx.log(`network ${rec.name}: could not be brought back: ${e instanceof Error ? e.message : String(e)}`);
        this.ctx.events.emit('network.error', rec.name, { message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private async repair(rec: NetworkRecord): Promise<void> {
    await this.ctx.locks.with(networkLock(rec.name), 'repair', async () => {
      const driver = networkDriver(rec.kind);
      const host = await iproute.links();
      const drift = [...driver.drift(rec, host), ...this.portDrift(rec, host)];
      if (drift.length === 0) return;
      this.ctx.log(`network ${rec.name}: drifted: ${drift.join('; ')}`);
      this.ctx.events.emit('network.drift', rec.name, { drift });
      if (!host.some((l) => l.ifname === rec.bridge)) {
        // The bridge itself is gone: start over (the uplink's addresses went with it).
        this.ctx.store.putNetwork({ ...rec, active: false });
        return;
      }
      const ports = this.ctx.store.listPorts(rec.name);
      for (const port of ports) {
        await createPortLinks(port, rec.bridge, port.mtu ?? rec.mtu);
        await driver.plugPort(rec, port, ports);
      }
    });
    if (!this.record(rec.name).active) await this.start(rec.name);
  }

  private portDrift(rec: NetworkRecord, host: readonly IpLink[]): string[] {
    return this.ctx.store.listPorts(rec.name).flatMap((p) => {
      const { state } = portState(p, host, rec.bridge);
      return state === 'up' ? [] : [`port ${p.name} (${p.ifname}) is ${state === 'missing' ? 'missing' : 'not up on the bridge'}`];
    });
  }

  private describe(rec: NetworkRecord, host: readonly IpLink[]): NetworkInfo {
    const driver = networkDriver(rec.kind);
    const { active: _a, bootId: _b, changes: _c, created: _d, ...def } = rec;
    const drift = rec.active ? [...driver.drift(rec, host), ...this.portDrift(rec, host)] : [];
    return {
      ...def,
      state: !rec.active ? 'inactive' : drift.length > 0 ? 'degraded' : 'running',
      ...(drift.length > 0 ? { drift } : {}),
      ...(driver.vlanDevice ? { vlanDevice: driver.vlanDevice(rec) } : {}),
      ports: this.ctx.store.listPorts(rec.name).length,
    };
  }

  /** The stored record of a network; NOT_FOUND otherwise. */
  record(name: string): NetworkRecord {
    const rec = this.ctx.store.getNetwork(validateName('network', name));
    if (!rec) throw errors.notFound('network', name);
    return rec;
  }
}

/** The bridge of a network is named after it, when the name is a valid interface name. */
function defaultBridge(name: string): string {
  if (Buffer.byteLength(name) > 15 || /[\s/:]/.test(name)) {
    throw errors.invalid(`network name '${name}' is not a valid interface name: give the bridge a name (--bridge)`, { network: name });
  }
  return name;
}
