import { Type } from 'typebox';

/** JSON schemas of the cluster API. */

export const JoinCluster = Type.Object(
  {
    etcd: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 16, description: "etcd's client URLs (http://HOST:2379)" }),
    name: Type.String({ minLength: 1, maxLength: 63, description: "this host's name in the cluster" }),
  },
  { additionalProperties: false },
);

const Member = Type.Object({
  name: Type.String(),
  memberId: Type.String(),
  hostname: Type.String(),
  joined: Type.String(),
  state: Type.Union([Type.Literal('up'), Type.Literal('unreachable')], { description: 'unreachable: its lease lapsed (it has not renewed it for its time to live)' }),
  self: Type.Boolean(),
});

export const ClusterStatus = Type.Object({
  cluster: Type.Optional(Type.String({ description: "the cluster's id; absent when this host is in no cluster" })),
  name: Type.Optional(Type.String()),
  etcd: Type.Array(Type.String()),
  reachable: Type.Boolean({ description: 'etcd answered now' }),
  members: Type.Array(Member),
  error: Type.Optional(Type.String()),
});
