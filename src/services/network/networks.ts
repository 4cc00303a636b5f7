import { KvmpoolError, errors } from '../../model/errors.js';
import { validateIfname, validateMtu, validateVlanId } from '../../model/ifnames.js';
import { validateName } from '../../model/names.js';
import type { NetworkDefinition, NetworkInfo, UplinkChanges } from '../../model/network-types.js';
import type { NetworkRecord } from '../../state/store.js';
import { networkDriver } from '../../drivers/network/registry.js';
import { claimName, networkAlias } from '../../drivers/network/owned-links.js';
import { createPortLinks, deletePortLinks, portAttached, portLinkState } from '../../drivers/network/port-links.js';
import { putOnUplink } from '../../drivers/network/uplink.js';
import { networkHost, type IpLink } from '../../drivers/network/host-state.js';
import type { ServiceContext } from '../context.js';
import { Reverter } from '../../model/reverter.js';
import { announce, operate } from '../operation.js';

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

/** Network names are shorter than other names: with a port's, they must fit an interface alias (255 bytes). */
const MAX_NETWORK_NAME_BYTES = 64;

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
    if (Buffer.byteLength(name) > MAX_NETWORK_NAME_BYTES) throw errors.invalid(`network name '${name.slice(0, 40)}...' is longer than ${MAX_NETWORK_NAME_BYTES} bytes`, { network: name });
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
    return operate(this.ctx, 'network.define', ['networks'], async () => {
      if (this.ctx.store.networks.get(name)) throw errors.exists('network', name);
      const host = await networkHost.links();
      driver.validate(def, this.ctx.store.networks.list(), host);
      claimName(host, def.bridge, networkAlias(name));
      this.ctx.store.networks.put({ ...def, active: false, bootId: null, changes: null, created: new Date().toISOString() });
      announce(this.ctx, 'network.defined', name, `network ${name}: defined (${def.kind}, bridge ${def.bridge}${def.uplink ? `, uplink ${def.uplink}` : ''})`);
      return this.info(name);
    });
  }

  async list(): Promise<NetworkInfo[]> {
    const host = await networkHost.links();
    return this.ctx.store.networks.list().map((n) => this.describe(n, host));
  }

  async info(name: string): Promise<NetworkInfo> {
    return this.describe(this.record(name), await networkHost.links());
  }

  /**
   * Creates the network's interfaces and its ports'. The record says running before the first change,
   * so a start cut short by a crash is finished at the next daemon start; a start that fails is undone.
   */
  async start(name: string, force = false): Promise<NetworkInfo> {
    await operate(this.ctx, 'network.start', [networkLock(name)], async () => {
      const rec = this.record(name);
      if (rec.active && rec.bootId === this.ctx.bootId) return;
      const driver = networkDriver(rec.kind);
      driver.validate(rec, this.ctx.store.networks.list().filter((n) => n.name !== name), await networkHost.links());
      this.ctx.store.networks.put({ ...rec, active: true, bootId: this.ctx.bootId, changes: null });
      try {
        const changes = await this.bringUp(rec, force);
        this.ctx.store.networks.put({ ...rec, active: true, bootId: this.ctx.bootId, changes: { ...changes, forced: force } });
      } catch (e) {
        // What this start made is undone; what an earlier, cut-short start left goes too.
        const failed = await driver.stop(rec, null).catch((err: unknown) => [err instanceof Error ? err.message : String(err)]);
        if (failed.length > 0) this.ctx.log(`network ${name}: cleaning up after a failed start: ${failed.join('; ')}`);
        this.ctx.store.networks.put({ ...rec, active: false, changes: null });
        throw e;
      }
      announce(this.ctx, 'network.started', name, `network ${name}: started`);
    });
    return this.info(name);
  }

  /** The network's interfaces and its ports', as one change (idempotent: kvmpool's own interfaces are kept). */
  private async bringUp(rec: NetworkRecord, force: boolean): Promise<UplinkChanges> {
    const driver = networkDriver(rec.kind);
    return Reverter.run(this.ctx.log, async (r) => {
      const changes = await driver.start(rec, { apiHosts: this.apiHosts(), force }, r);
      const ports = this.ctx.store.ports.list(rec.name);
      for (const port of ports) {
        if (await createPortLinks(port, rec.bridge, port.mtu ?? rec.mtu, this.ctx.log)) r.add(`delete port ${port.ifname}`, () => deletePortLinks(port));
        await driver.plugPort(rec, port, ports);
      }
      return changes ?? { addresses: [], routes: [], broughtUp: false };
    });
  }

  /** Removes the network's interfaces; refused while a port is in use unless `force`. */
  async stop(name: string, force = false): Promise<NetworkInfo> {
    await operate(this.ctx, 'network.stop', [networkLock(name)], async () => {
      const rec = this.record(name);
      if (!rec.active) return;
      const ports = this.ctx.store.ports.list(name);
      if (!force) {
        const host = await networkHost.links();
        const held = await networkHost.tapsInUse();
        const busy = ports.filter((p) => p.usedBy || portAttached(p, host, held));
        if (busy.length > 0) {
          throw errors.inUse(`network '${name}' has ports in use: ${busy.map((p) => `${p.name}${p.usedBy ? ` (${p.usedBy})` : ''}`).join(', ')} (use force to stop anyway)`, {
            network: name,
            ports: busy.map((p) => p.name),
          });
        }
      }
      for (const port of ports) await deletePortLinks(port);
      const failed = await networkDriver(rec.kind).stop(rec, rec.changes);
      this.ctx.store.networks.put({ ...rec, active: false, changes: null });
      if (failed.length > 0) {
        this.ctx.log(`network ${name}: stopped, but the uplink did not get everything back: ${failed.join('; ')}`);
        this.ctx.events.emit('network.error', name, { message: 'the uplink did not get everything back', failed });
      }
      announce(this.ctx, 'network.stopped', name, `network ${name}: stopped`);
    });
    return this.info(name);
  }

  async setAutostart(name: string, autostart: boolean): Promise<NetworkInfo> {
    await operate(this.ctx, 'network.autostart', [networkLock(name)], async () => {
      this.ctx.store.networks.put({ ...this.record(name), autostart });
    });
    return this.info(name);
  }

  /** Forgets a stopped network and its ports. */
  async undefine(name: string): Promise<void> {
    await operate(this.ctx, 'network.undefine', [networkLock(name)], async () => {
      const rec = this.record(name);
      if (rec.active) throw new KvmpoolError('NETWORK_ACTIVE', `network '${name}' is running: stop it first`, { network: name });
      const used = this.ctx.store.ports.list(name).filter((p) => p.usedBy);
      if (used.length > 0) throw errors.inUse(`ports of network '${name}' are given to ${used.map((p) => p.usedBy).join(', ')}`, { network: name });
      this.ctx.store.networks.delete(name);
      announce(this.ctx, 'network.undefined', name, `network ${name}: undefined`);
    });
  }

  /**
   * At daemon start: networks that ran in this boot are checked, and what drifted (logged, sent as
   * `network.drift`) is put back; after a reboot, networks marked autostart start again (forced if their
   * last start was) and the others are marked stopped.
   */
  async startup(): Promise<void> {
    for (const rec of this.ctx.store.networks.list()) {
      try {
        if (rec.active && rec.bootId === this.ctx.bootId) await this.repair(rec);
        else if (rec.autostart) {
          if (rec.active) this.ctx.store.networks.put({ ...rec, active: false });
          await this.start(rec.name, rec.changes?.forced === true);
        } else if (rec.active) this.ctx.store.networks.put({ ...rec, active: false, changes: null });
      } catch (e) {
        this.ctx.log(`network ${rec.name}: could not be brought back: ${e instanceof Error ? e.message : String(e)}`);
        this.ctx.events.emit('network.error', rec.name, { message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private async repair(rec: NetworkRecord): Promise<void> {
    await operate(this.ctx, 'network.repair', [networkLock(rec.name)], async () => {
      const host = await networkHost.links();
      const drift = [...networkDriver(rec.kind).drift(rec, host), ...this.portDrift(rec, host)];
      if (drift.length === 0) return;
      this.ctx.log(`network ${rec.name}: drifted: ${drift.join('; ')}`);
      this.ctx.events.emit('network.drift', rec.name, { drift });
      // A bridge deleted by hand took the uplink's addresses with it: they go back on the uplink first,
      // and move to the new bridge with the start.
      if (rec.uplink && rec.changes && !host.some((l) => l.ifname === rec.bridge)) await putOnUplink(rec.uplink, rec.changes);
      const changes = await this.bringUp(rec, rec.changes?.forced === true);
      const moved = changes.addresses.length > 0 || !rec.changes ? changes : rec.changes;
      this.ctx.store.networks.put({ ...rec, changes: { ...moved, forced: rec.changes?.forced === true } });
    });
  }

  private portDrift(rec: NetworkRecord, host: readonly IpLink[]): string[] {
    return this.ctx.store.ports.list(rec.name).flatMap((p) => {
      const state = portLinkState(p, host, rec.bridge);
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
      ports: this.ctx.store.ports.list(rec.name).length,
    };
  }

  /** The stored record of a network; NOT_FOUND otherwise. */
  record(name: string): NetworkRecord {
    const rec = this.ctx.store.networks.get(validateName('network', name));
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
