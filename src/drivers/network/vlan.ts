import * as iproute from '../../host/iproute.js';
import { KvmpoolError, errors } from '../../model/errors.js';
import { MAX_IFNAME_BYTES } from '../../model/ifnames.js';
import type { NetworkDefinition } from '../../model/network-types.js';
import type { NetworkDriver } from './driver.js';
import { bridgeDrift, checkShared, createBridge, plugIntoBridge } from './bridge-base.js';
import { claimName, deleteOwned, networkAlias } from './owned-links.js';
import { checkUplink } from './uplink.js';

/** The sub-interface of a VLAN network: `UPLINK.ID`. */
const subInterface = (def: NetworkDefinition) => `${def.uplink}.${def.vlan}`;

/**
 * One VLAN over an uplink: an 802.1Q sub-interface UPLINK.ID in a bridge of its own. Several VLAN
 * networks share one uplink, which carries their frames tagged (a trunk); the uplink itself stays as it
 * is, addresses included.
 */
export const vlanDriver: NetworkDriver = {
  kind: 'vlan',

  validate(def, others, host) {
    if (!def.uplink) throw errors.invalid('a vlan network needs an uplink', { network: def.name });
    if (def.vlan === undefined) throw errors.invalid('a vlan network needs a VLAN id', { network: def.name });
    const sub = subInterface(def);
    if (Buffer.byteLength(sub) > MAX_IFNAME_BYTES) throw errors.invalid(`the VLAN interface name '${sub}' is longer than ${MAX_IFNAME_BYTES} bytes`, { interface: sub });
    checkShared(def, others);
    const twin = others.find((o) => o.kind === 'vlan' && o.uplink === def.uplink && o.vlan === def.vlan);
    if (twin) throw vlanTaken(def, `network ${twin.name}`);
    checkUplink([...host], def.uplink);
    const taken = host.find((l) => l.linkinfo?.info_kind === 'vlan' && l.link === def.uplink && l.linkinfo.info_data?.id === def.vlan && l.ifalias !== networkAlias(def.name));
    if (taken) throw vlanTaken(def, `interface ${taken.ifname}`);
  },

  validatePort(def, port) {
    if (port.trunk !== undefined || port.native !== undefined) throw errors.notSupported('trunk ports need a vlan-aware network');
    if (port.vlan !== undefined && port.vlan !== def.vlan) throw errors.invalid(`network '${def.name}' carries VLAN ${def.vlan} only`, { vlan: port.vlan });
  },

  async start(def, _options, r) {
    const host = await iproute.links();
    const uplink = checkUplink(host, def.uplink!);
    if (def.mtu && def.mtu > uplink.mtu) throw errors.invalid(`MTU ${def.mtu} is larger than uplink ${uplink.ifname}'s (${uplink.mtu})`, { mtu: def.mtu });
    await createBridge(def, host, { mtu: def.mtu ?? uplink.mtu }, r);
    // A VLAN interface comes up only over an uplink that is up.
    const broughtUp = !uplink.flags.includes('UP');
    if (broughtUp) {
      await iproute.setUp(uplink.ifname, true);
      r.add(`set ${uplink.ifname} down`, () => iproute.setUp(uplink.ifname, false));
    }
    const sub = subInterface(def);
    const alias = networkAlias(def.name);
    if (!claimName(host, sub, alias)) {
      await iproute.addVlan(uplink.ifname, sub, def.vlan!);
      // Undone marked or not: an interface left without the mark would be foreign to kvmpool forever.
      r.add(`delete ${sub}`, () => iproute.deleteLink(sub));
      await iproute.setAlias(sub, alias);
    }
    await iproute.setMaster(sub, def.bridge);
    await iproute.setUp(sub, true);
    return { addresses: [], routes: [], broughtUp };
  },

  async stop(def, changes) {
    const alias = networkAlias(def.name);
    await deleteOwned(subInterface(def), alias);
    await deleteOwned(def.bridge, alias);
    // Down again only if start brought it up and no other VLAN still rides on it.
    const host = await iproute.links();
    const riders = host.some((l) => l.linkinfo?.info_kind === 'vlan' && l.link === def.uplink);
    if (changes?.broughtUp && !riders && host.some((l) => l.ifname === def.uplink)) await iproute.setUp(def.uplink!, false);
    return [];
  },

  drift(def, host) {
    const drift = bridgeDrift(def, host, subInterface(def));
    if (!host.some((l) => l.ifname === def.uplink)) drift.push(`uplink ${def.uplink} is missing`);
    return drift;
  },

  plugPort: (def, port) => plugIntoBridge(def.bridge, port.ifname),
  async portRemoved() {},
  vlanDevice: subInterface,
};

function vlanTaken(def: NetworkDefinition, holder: string): KvmpoolError {
  return new KvmpoolError('ALREADY_EXISTS', `VLAN ${def.vlan} already exists on ${def.uplink} (${holder})`, { uplink: def.uplink, vlan: def.vlan, holder });
}
