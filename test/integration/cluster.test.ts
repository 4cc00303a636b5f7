import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { kvmpool, serve } from '../helpers/cli.js';
import { withDaemon } from '../helpers/daemon.js';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Hosts joined through a real etcd (one member on 127.0.0.1, started for the file): a cluster made
 * once, hosts joining it by name, their leases saying who is up, and the refusals (a name taken, a
 * second cluster, no cluster, an etcd that does not answer).
 */
let etcd: TestEtcd;
before(async () => {
  etcd = await startEtcd();
});
beforeEach(async () => {
  await etcd.clear();
});
after(async () => {
  await etcd?.stop();
});

interface Status {
  cluster?: string;
  name?: string;
  reachable: boolean;
  members: { name: string; state: string; self: boolean }[];
}

/** Polls a host's status until `check` holds; fails after 30 s. */
async function statusUntil(home: string, what: string, check: (s: Status) => boolean): Promise<Status> {
  for (const started = Date.now(); ; ) {
    const s = await statusOf(home);
    if (check(s)) return s;
    assert.ok(Date.now() - started < 30_000, `${what}: not after 30 s: ${JSON.stringify(s.members)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const statusOf = async (home: string): Promise<Status> => {
  const r = await kvmpool(['--home', home, '--json', 'cluster', 'status']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
};

test('a cluster is made once on an etcd; hosts join it by name and show up; a name taken, a second cluster and a host already in one are refused', async () => {
  await withDaemon(async (a) => {
    await withDaemon(async (b) => {
      const k = (home: string, ...args: string[]) => kvmpool(['--home', home, ...args]);
      assert.match((await k(a.home, 'cluster', 'status')).stdout, /in no cluster/);
      const joinedEarly = await k(b.home, 'cluster', 'join', '--etcd', etcd.url, '--name', 'host2');
      assert.equal(joinedEarly.code, 3, joinedEarly.stderr);
      assert.match(joinedEarly.stderr, /no kvmpool cluster.*cluster init/);

      const made = await k(a.home, '--json', 'cluster', 'init', '--etcd', etcd.url, '--name', 'host1');
      assert.equal(made.code, 0, made.stderr);
      const cluster = (JSON.parse(made.stdout) as Status).cluster!;
      const joined = await k(b.home, 'cluster', 'join', '--etcd', etcd.url, '--name', 'host2');
      assert.equal(joined.code, 0, joined.stderr);
      assert.match(joined.stdout, /host2 \(this host\) +up/);

      for (const home of [a.home, b.home]) {
        const s = await statusOf(home);
        assert.equal(s.cluster, cluster);
        assert.deepEqual(s.members.map((m) => [m.name, m.state]), [['host1', 'up'], ['host2', 'up']]);
      }
      await withDaemon(async (c) => {
        const taken = await k(c.home, 'cluster', 'join', '--etcd', etcd.url, '--name', 'host1');
        assert.equal(taken.code, 4, taken.stderr);
        assert.match(taken.stderr, /member named host1 already/);
        const second = await k(c.home, 'cluster', 'init', '--etcd', etcd.url, '--name', 'host3');
        assert.match(second.stderr, /cluster already: join it/);
        const bad = await k(c.home, 'cluster', 'join', '--etcd', etcd.url, '--name', 'Host_3');
        assert.match(bad.stderr, /invalid member name/);
        // Nothing of the refused attempts stays: c is in no cluster, and the cluster has two members.
        assert.equal((await statusOf(c.home)).cluster, undefined);
      });
      assert.match((await k(a.home, 'cluster', 'join', '--etcd', etcd.url, '--name', 'host9')).stderr, /already exists/);
      assert.equal((await statusOf(a.home)).members.length, 2);

      // A daemon that starts again takes its place again; one that stops in order shows unreachable at once.
      await b.restart();
      await statusUntil(a.home, 'host2 up again after its daemon restarted', (s) => s.members.every((m) => m.state === 'up'));
    });
    const s = await statusOf(a.home);
    assert.deepEqual(s.members.map((m) => [m.name, m.state]), [['host1', 'up'], ['host2', 'unreachable']]);
  });
});

test('a host killed outright shows unreachable once its lease lapses; the others keep answering', async () => {
  const { dir, cleanup } = await tempDir();
  const home = path.join(dir, 'home');
  const victim = await serve(home);
  try {
    await withDaemon(async (a) => {
      assert.equal((await kvmpool(['--home', a.home, 'cluster', 'init', '--etcd', etcd.url, '--name', 'first'])).code, 0);
      assert.equal((await kvmpool(['--home', home, 'cluster', 'join', '--etcd', etcd.url, '--name', 'victim'])).code, 0);
      assert.deepEqual((await statusOf(a.home)).members.map((m) => m.state), ['up', 'up']);
      victim.child.kill('SIGKILL');
      await statusUntil(a.home, 'the killed host unreachable', (s) => s.members.find((m) => m.name === 'victim')?.state === 'unreachable');
    });
  } finally {
    await victim.stop();
    await cleanup();
  }
});

test('an etcd that does not answer is UNAVAILABLE within its bound, and nothing is recorded', async () => {
  // A server that takes connections and never answers (no etcd refuses at once: the bound is what ends the wait).
  const held = new Set<net.Socket>();
  const silent = net.createServer((socket) => void held.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    await withDaemon(async (t) => {
      for (const etcdUrl of [`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, `http://127.0.0.1:${await freePort()}`]) {
        const started = Date.now();
        const r = await kvmpool(['--home', t.home, 'cluster', 'init', '--etcd', etcdUrl, '--name', 'lonely']);
        assert.equal(r.code, 14, r.stderr);
        assert.match(r.stderr, /did not answer/);
        assert.ok(Date.now() - started < 15_000, `gave up after ${Date.now() - started} ms`);
        assert.equal((await statusOf(t.home)).cluster, undefined);
      }
      assert.match((await kvmpool(['--home', t.home, 'cluster', 'init', '--etcd', 'ftp://x', '--name', 'x'])).stderr, /not an etcd client URL/);
    });
  } finally {
    for (const socket of held) socket.destroy();
    silent.close();
  }
});
