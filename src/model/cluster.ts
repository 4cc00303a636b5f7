/** Plain types of a kvmpool cluster: hosts that share storage, joined through etcd. */

/** This host's membership, as its own store keeps it. */
export interface ClusterMembership {
  /** The cluster's id (made by `cluster init`). */
  cluster: string;
  /** This host's name in the cluster. */
  name: string;
  /** This host's id: a name is this host's only while the cluster records this id for it. */
  memberId: string;
  /** etcd's client URLs. */
  etcd: string[];
  joined: string;
}

/** A member as the cluster records it. */
export interface MemberRecord {
  name: string;
  memberId: string;
  hostname: string;
  joined: string;
}

/** A member and whether its lease holds (`up`) or has lapsed (`unreachable`). */
export interface MemberStatus extends MemberRecord {
  state: 'up' | 'unreachable';
  /** This daemon's own host. */
  self: boolean;
}

/** What `cluster status` shows. */
export interface ClusterStatus {
  /** Absent when this host is in no cluster. */
  cluster?: string;
  name?: string;
  etcd: string[];
  /** Whether etcd answered now; without it, this host keeps what it runs and refuses cluster-wide changes. */
  reachable: boolean;
  members: MemberStatus[];
  error?: string;
}
