import { Type, type Static } from 'typebox';
import { NETWORK_KINDS, NETWORK_STATES, PORT_TYPES } from '../model/network-types.js';
import { nullable } from './nullable.js';

/** JSON schemas of the network and port API. */

const VlanId = Type.Integer({ minimum: 1, maximum: 4094 });
const Ifname = Type.String({ minLength: 1, maxLength: 64 });

export const Network = Type.Object({
  name: Type.String(),
  kind: Type.Enum(NETWORK_KINDS),
  bridge: Type.String(),
  uplink: nullable(Type.String()),
  vlan: nullable(Type.Integer()),
  mtu: Type.Optional(Type.Integer()),
  autostart: Type.Boolean(),
  state: Type.Enum(NETWORK_STATES),
  drift: Type.Optional(Type.Array(Type.String())),
  vlanDevice: Type.Optional(Type.String()),
  ports: Type.Integer({ minimum: 0 }),
});
export type NetworkBody = Static<typeof Network>;

export const DefineNetwork = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    kind: Type.String({ minLength: 1, maxLength: 32 }),
    bridge: Type.Optional(Ifname),
    uplink: Type.Optional(Ifname),
    // Range errors come from the service, with the stable message and code.
    vlan: Type.Optional(Type.Integer()),
    mtu: Type.Optional(Type.Integer()),
    autostart: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const Port = Type.Object({
  name: Type.String(),
  network: Type.String(),
  type: Type.Enum(PORT_TYPES),
  ifname: Type.String(),
  peer: nullable(Type.String()),
  mac: Type.String(),
  mtu: Type.Optional(Type.Integer()),
  vlan: nullable(VlanId),
  trunk: nullable(Type.Array(VlanId)),
  native: Type.Optional(VlanId),
  usedBy: nullable(Type.String()),
  state: Type.Enum(['up', 'down', 'missing'] as const),
  attached: Type.Boolean(),
});
export type PortBody = Static<typeof Port>;

export const CreatePort = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    type: Type.Optional(Type.String({ maxLength: 16 })),
    vlan: Type.Optional(Type.Integer()),
    /** `10,20-30`, or a list of ids. */
    trunk: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Array(Type.Integer(), { maxItems: 4094 })])),
    native: Type.Optional(Type.Integer()),
    mac: Type.Optional(Type.String({ maxLength: 64 })),
    mtu: Type.Optional(Type.Integer()),
    ifname: Type.Optional(Ifname),
    peer: Type.Optional(Ifname),
  },
  { additionalProperties: false },
);

export const NetworkParams = Type.Object({ network: Type.String() });
export const PortParams = Type.Object({ network: Type.String(), port: Type.String() });
export const PatchNetwork = Type.Object({ autostart: Type.Boolean() }, { additionalProperties: false });

/** Fields of networks and ports that answers always carry (null when unset). */
export const NETWORK_FIELDS = ['uplink', 'vlan'] as const;
export const PORT_FIELDS = ['peer', 'vlan', 'trunk', 'usedBy'] as const;
