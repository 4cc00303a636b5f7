import os from 'node:os';
import { errors, KvmpoolError } from '../../model/errors.js';
import type { ClusterStatus, MemberRecord } from '../../model/cluster.js';
import { EtcdState } from '../../state/etcd.js';
import type { ServiceContext } from '../context.js';

/** Seconds a member's lease lives without renewal: a host dead this long shows unreachable. */
export const DEFAULT_LEASE_S = 10;

/** A member's name: a host name's characters (it names the host in messages, keys and the CLI). */
const MEMBER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** How a host joins: etcd's client URLs and its name in the cluster. */
export interface JoinRequest {
  etcd: string[];
  name: string;
}

/**
 * This host's membership of a kvmpool cluster: hosts joined through etcd (never a consensus of
 * kvmpool's own). `init` makes the cluster on an etcd, `join` adds a host; while the daemon runs, its
 * lease in etcd says it is up. The membership is kept in the host's store, so a daemon that starts
 * again takes its place again; etcd being unreachable never keeps the daemon from starting or answering.
 */
export class ClusterService {
  private etcd?: EtcdState;
  private presence?: { ready: Promise<void>; close(): Promise<void> };
  private closed = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly leaseSeconds = DEFAULT_LEASE_S,
  ) {}

  /** Makes a cluster on an etcd that holds none, with this host its first member. */
  init(request: JoinRequest): Promise<ClusterStatus> {
    // A cluster id of this host's own: an init whose answer was lost finds it there, done.
    return this.enter(request, async (etcd, member) => {
      const id = `${member.memberId}-cluster`;
      await etcd.createCluster({ id, created: new Date().toISOString() }, member);
      return id;
    });
  }

  /** Adds this host to the cluster an etcd holds. */
  join(request: JoinRequest): Promise<ClusterStatus> {
    return this.enter(request, async (etcd, member) => {
      const cluster = await etcd.cluster();
      if (!cluster) throw new KvmpoolError('NOT_FOUND', `etcd at ${request.etcd.join(',')} holds no kvmpool cluster: make one with kvmpool cluster init`);
      await etcd.addMember(member);
      return cluster.id;
    });
  }

  /** The members and their state, as etcd says now; without etcd, what this host knows of itself. */
  async status(): Promise<ClusterStatus> {
    const mine = this.ctx.store.cluster.get();
    if (!mine || !this.etcd) return { etcd: [], reachable: false, members: [] };
    const base = { cluster: mine.cluster, name: mine.name, etcd: mine.etcd };
    try {
      const { members, alive } = await this.etcd.members();
      const list = members.map((m) => ({ ...m, state: alive.has(m.name) ? ('up' as const) : ('unreachable' as const), self: m.name === mine.name }));
      return { ...base, reachable: true, members: list.sort((a, b) => a.name.localeCompare(b.name)) };
    } catch (e) {
      if (!(e instanceof KvmpoolError) || e.code !== 'UNAVAILABLE') throw e;
      return { ...base, reachable: false, members: [], error: e.message };
    }
  }

  /** Takes this host's place again after a start (in the background: etcd may not answer now). */
  startup(): void {
    const mine = this.ctx.store.cluster.get();
    if (!mine || this.closed) return;
    this.etcd = new EtcdState(mine.etcd);
    this.presence = this.etcd.presence(mine.name, mine.memberId, this.leaseSeconds, this.ctx.log);
  }

  /** Leaves the cluster's sight (the lease is revoked: this host shows unreachable at once) and disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    await this.presence?.close();
    this.etcd?.close();
  }

  /** Checks the request, records this host in the cluster `make` finds or makes, and starts its presence. */
  private async enter(request: JoinRequest, make: (etcd: EtcdState, member: MemberRecord) => Promise<string>): Promise<ClusterStatus> {
    return this.ctx.locks.with('cluster', 'cluster', async () => {
      const current = this.ctx.store.cluster.get();
      if (current) throw errors.exists('cluster membership', `${current.name} in ${current.cluster}`);
      if (!MEMBER_NAME.test(request.name)) throw errors.invalid(`invalid member name '${request.name}': lower-case letters, digits and '-', as a host name`, { name: request.name });
      const etcd = new EtcdState(checkEndpoints(request.etcd));
      const member: MemberRecord = { name: request.name, memberId: this.ctx.store.cluster.memberId(), hostname: os.hostname(), joined: new Date().toISOString() };
      try {
        const cluster = await make(etcd, member);
        this.ctx.store.cluster.set({ cluster, name: member.name, memberId: member.memberId, etcd: [...request.etcd], joined: member.joined });
      } finally {
        etcd.close();
      }
      if (this.closed) throw new KvmpoolError('UNAVAILABLE', 'the daemon is stopping: this host joined, and takes its place when it starts again');
      this.startup();
      await this.presence!.ready;
      this.ctx.log(`cluster: this host is ${request.name} in cluster ${this.ctx.store.cluster.get()!.cluster}`);
      return this.status();
    });
  }
}

/** etcd's client URLs: http(s)://host:port each. */
function checkEndpoints(urls: string[]): string[] {
  if (urls.length === 0) throw errors.invalid('etcd needs at least one client URL (http://HOST:2379)');
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw errors.invalid(`not an etcd client URL: ${u} (http://HOST:2379)`, { url: u });
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.port === '' || url.pathname !== '/') throw errors.invalid(`not an etcd client URL: ${u} (http://HOST:PORT)`, { url: u });
  }
  return urls;
}
