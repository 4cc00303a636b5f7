import { Etcd3, type Lease } from 'etcd3';
import { noop } from 'cockatiel';
import { KvmpoolError } from '../model/errors.js';
import type { MemberRecord } from '../model/cluster.js';

/** Milliseconds one call to etcd may take: a host that cannot reach etcd says so, never waits. */
export const CALL_DEADLINE_MS = 5000;
/** Where kvmpool's keys live in etcd. */
const PREFIX = 'kvmpool/';
/** Seconds between attempts to take a new lease after one was lost (etcd unreachable, or it lapsed). */
const REGRANT_S = 2;

/** The cluster's own record, made once by `cluster init`. */
export interface ClusterRecord {
  id: string;
  created: string;
}

/**
 * The cluster-wide state in etcd. Keys: `cluster` (the cluster's record), `members/NAME` (every member
 * that joined, kept), `alive/NAME` (bound to the member's lease: gone when the member has not renewed
 * it for its time to live). Every call is bounded by CALL_DEADLINE_MS and is not retried here: a
 * failure is UNAVAILABLE at once, the caller decides.
 */
export class EtcdState {
  private readonly client: Etcd3;
  private readonly kv: ReturnType<Etcd3['namespace']>;

  constructor(readonly endpoints: readonly string[]) {
    this.client = new Etcd3({
      hosts: [...endpoints],
      dialTimeout: CALL_DEADLINE_MS,
      defaultCallOptions: (c) => (c.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      faultHandling: { host: () => noop, global: noop },
    });
    this.kv = this.client.namespace(PREFIX);
  }

  /** The cluster's record; undefined when no cluster was made on this etcd. */
  async cluster(): Promise<ClusterRecord | undefined> {
    const text = await this.bounded('the cluster', this.kv.get('cluster').string());
    return text === null ? undefined : (JSON.parse(text) as ClusterRecord);
  }

  /** Makes the cluster's record with its first member, in one transaction; ALREADY_EXISTS when there is a cluster. */
  async createCluster(record: ClusterRecord, first: MemberRecord): Promise<void> {
    const member = `members/${first.name}`;
    const done = await this.bounded(
      'the cluster',
      this.kv.if('cluster', 'Create', '==', 0).and(member, 'Create', '==', 0).then(this.kv.put('cluster').value(JSON.stringify(record)), this.kv.put(member).value(JSON.stringify(first))).commit(),
    );
    if (done.succeeded) return;
    const held = await this.cluster();
    // The same host's earlier attempt that committed, though its answer was lost: done.
    if (held?.id === record.id) return;
    throw new KvmpoolError('ALREADY_EXISTS', `etcd at ${this.endpoints.join(',')} holds a kvmpool cluster already: join it (kvmpool cluster join)`);
  }

  /** Records a member; the same member joining again is harmless, another member's name is ALREADY_EXISTS. */
  async addMember(member: MemberRecord): Promise<void> {
    const key = `members/${member.name}`;
    const done = await this.bounded(`member ${member.name}`, this.kv.if(key, 'Create', '==', 0).then(this.kv.put(key).value(JSON.stringify(member))).commit());
    if (done.succeeded) return;
    const held = JSON.parse((await this.bounded(`member ${member.name}`, this.kv.get(key).string())) ?? '{}') as Partial<MemberRecord>;
    if (held.memberId !== member.memberId) throw new KvmpoolError('ALREADY_EXISTS', `the cluster has a member named ${member.name} already (host ${held.hostname ?? '?'}): choose another name`, { name: member.name });
  }

  /** Every member, and the names whose lease holds. */
  async members(): Promise<{ members: MemberRecord[]; alive: Set<string> }> {
    const [members, alive] = await Promise.all([this.bounded('the members', this.kv.getAll().prefix('members/').strings()), this.bounded('the members', this.kv.getAll().prefix('alive/').keys())]);
    return { members: Object.values(members).map((m) => JSON.parse(m) as MemberRecord), alive: new Set(alive.map((k) => k.slice('alive/'.length))) };
  }

  /**
   * Keeps `alive/NAME` on a lease of `ttl` seconds while this process lives. A lease lost (etcd
   * unreachable long enough, or revoked), or one whose key could not be put, is given up and a new one
   * taken REGRANT_S seconds later. `ready` resolves once the first attempt is over, put or not (it never
   * rejects: the next attempts follow). `close` revokes the lease: the member shows unreachable at once.
   */
  presence(name: string, memberId: string, ttl: number, log: (m: string) => void): { ready: Promise<void>; close(): Promise<void> } {
    let lease: Lease | undefined;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let failures = 0;
    const again = (current: Lease, why: string) => {
      if (closed || lease !== current || timer) return;
      // Said once per outage, not every attempt.
      if (failures++ === 0) log(`cluster: the lease of ${name} is gone (${why}): taking a new one every ${REGRANT_S} s`);
      current.release();
      timer = setTimeout(() => {
        timer = undefined;
        take();
      }, REGRANT_S * 1000);
    };
    const take = (): Promise<void> => {
      if (closed) return Promise.resolve();
      const current = this.client.lease(ttl, { autoKeepAlive: true });
      lease = current;
      current.on('lost', (e: Error) => again(current, e.message));
      const put = current.put(`${PREFIX}alive/${name}`).value(JSON.stringify({ memberId, since: new Date().toISOString() })).exec();
      return this.bounded(`the lease of ${name}`, put).then(
        () => {
          if (failures > 0) log(`cluster: the lease of ${name} is held again`);
          failures = 0;
        },
        (e: unknown) => again(current, e instanceof Error ? e.message : String(e)),
      );
    };
    const ready = take();
    return {
      ready,
      close: async () => {
        closed = true;
        clearTimeout(timer);
        // With etcd unreachable, the lease lapses by itself.
        await lease?.revoke().catch((e: unknown) => log(`cluster: the lease of ${name} was not revoked (${e instanceof Error ? e.message : String(e)}): it lapses by itself`));
      },
    };
  }

  close(): void {
    this.client.close();
  }

  /** A call within CALL_DEADLINE_MS; any failure to get an answer is UNAVAILABLE. */
  private async bounded<T>(what: string, call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CALL_DEADLINE_MS / 1000} s`)), CALL_DEADLINE_MS + 500);
    });
    try {
      return await Promise.race([call, late]);
    } catch (e) {
      if (e instanceof KvmpoolError) throw e;
      throw new KvmpoolError('UNAVAILABLE', `etcd at ${this.endpoints.join(',')} did not answer about ${what}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
