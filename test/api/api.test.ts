import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { KvmpoolClient } from '../../src/client/client.js';
import { routes } from '../../src/api/routes-table.js';
import { recordEvents, withDaemon, type TestDaemon } from '../helpers/daemon.js';

/** A raw HTTP request to the daemon's TCP port. */
function raw(t: TestDaemon, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${t.daemon.tcp}${path}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

test('TCP needs the bearer token; the unix socket does not', () =>
  withDaemon(async (t) => {
    for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${t.token}` }, { authorization: `Bearer ${t.token}x` }]) {
      const r = await raw(t, 'GET', '/api/v1/pools', headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(JSON.parse(r.text).error.code, 'UNAUTHORIZED');
    }
    assert.equal((await raw(t, 'GET', '/metrics')).status, 401);
    assert.equal((await raw(t, 'GET', '/api/v1/pools', { authorization: `Bearer ${t.token}` })).status, 200);
    assert.equal((await t.tcp.call('version')).name, 'kvmpool');
    assert.deepEqual((await t.client.call('listPools')).map((p) => p.name), ['default']);
    await assert.rejects(new KvmpoolClient({ url: `http://${t.daemon.tcp}`, token: 'nope' }).call('listPools'), { code: 'UNAUTHORIZED' });
  }));

test('errors map to statuses and one body shape', () =>
  withDaemon(async (t) => {
    const auth = { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' };
    const cases: [string, string, string | undefined, number, string][] = [
      ['GET', '/api/v1/pools/nope', undefined, 404, 'NOT_FOUND'],
      ['GET', '/api/v1/no/such/path', undefined, 404, 'NOT_FOUND'],
      ['POST', '/api/v1/pools', '{"name":"default","type":"dir","target":"/srv/x"}', 409, 'ALREADY_EXISTS'],
      ['POST', '/api/v1/pools', '{"name":"x","type":"dir"}', 400, 'INVALID_ARGUMENT'],
      ['POST', '/api/v1/pools', '{not json', 400, 'INVALID_ARGUMENT'],
      ['POST', '/api/v1/pools', '{"name":"x","type":"rbd","source":{"monitors":["127.0.0.1"],"rbdPool":"vms","user":"u"}}', 400, 'INVALID_ARGUMENT'],
      ['POST', '/api/v1/pools/default/volumes', '{"name":"a","capacity":"1G","format":"qcow2","prealloc":"full"}', 507, 'NO_SPACE'],
      ['POST', '/api/v1/pools/default/undefine', '{}', 404, 'NOT_FOUND'],
      ['DELETE', '/api/v1/pools/default', undefined, 409, 'POOL_ACTIVE'],
    ];
    // make NO_SPACE certain: ask for more than the file system has
    const huge = (await t.client.call('getPool', { params: { pool: 'default' } })).available + 1024 ** 4;
    cases[6]![2] = JSON.stringify({ name: 'a', capacity: huge, format: 'qcow2', prealloc: 'full' });
    for (const [method, path, body, status, code] of cases) {
      const r = await raw(t, method, path, body ? auth : { authorization: auth.authorization }, body);
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      const parsed = JSON.parse(r.text) as { error: { code: string; message: string } };
      assert.equal(parsed.error.code, code);
      assert.ok(parsed.error.message.length > 0 && !parsed.error.message.includes('\n'));
    }
  }));

test('the OpenAPI document describes every operation', () =>
  withDaemon(async (t) => {
    const r = await raw(t, 'GET', '/api/v1/openapi.json', { authorization: `Bearer ${t.token}` });
    assert.equal(r.status, 200);
    const doc = JSON.parse(r.text) as { openapi: string; paths: Record<string, Record<string, { operationId?: string }>> };
    assert.match(doc.openapi, /^3\./);
    const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
    const described = Object.entries(doc.paths)
      .flatMap(([p, item]) => Object.entries(item).filter(([m, o]) => methods.includes(m) && o.operationId).map(([m, o]) => `${o.operationId} ${m.toUpperCase()} ${p}`))
      .sort();
    // Every operation of the routes table (OpenAPI writes :param as {param}), and the content streams.
    const expected = [
      ...Object.entries(routes).map(([id, route]) => `${id} ${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`),
      'downloadVolume GET /api/v1/pools/{pool}/volumes/{volume}/content',
      'uploadVolume PUT /api/v1/pools/{pool}/volumes/{volume}/content',
    ].sort();
    assert.deepEqual(described, expected);
  }));

test('metrics count operations and report pool usage', () =>
  withDaemon(async (t) => {
    await t.client.call('createVolume', { params: { pool: 'default' }, body: { name: 'm.img', capacity: '1M' } });
    await t.client.call('createVolume', { params: { pool: 'default' }, body: { name: 'm.img', capacity: '1M' } }).catch(() => undefined);
    const r = await raw(t, 'GET', '/metrics', { authorization: `Bearer ${t.token}` });
    assert.equal(r.status, 200);
    assert.match(r.text, /kvmpool_operations_total\{operation="volume.create",result="ok"\} 1/);
    assert.match(r.text, /kvmpool_operation_duration_seconds_count\{operation="volume.create"\} 1/);
    assert.match(r.text, /kvmpool_pool_capacity_bytes\{pool="default"\} [1-9]\d+/);
    assert.match(r.text, /kvmpool_pool_allocation_bytes\{pool="default"\} \d+/);
  }));

test('events stream volume and job changes as server-sent events', () =>
  withDaemon(async (t) => {
    const recorder = await recordEvents(t.tcp);
    await t.client.call('createVolume', { params: { pool: 'default' }, body: { name: 'e.img', capacity: '1M' } });
    const out = await t.client.call('createVolume', { params: { pool: 'default' }, body: { name: 'f.img', capacity: '8M', prealloc: 'full' } });
    assert.ok('job' in out);
    await t.client.waitJob(out.job.id);
    await t.client.call('deleteVolume', { params: { pool: 'default', volume: 'e.img' } });
    // The last change's event has come: the stream has carried all the others before it.
    await recorder.first('volume.deleted', (e) => e.subject === 'default/e.img');
    await recorder.stop();
    const types = recorder.events.map((e) => `${e.type} ${e.subject}`);
    assert.ok(types.includes('volume.created default/e.img'), types.join('\n'));
    assert.ok(types.includes(`job.started ${out.job.id}`));
    assert.ok(types.includes(`job.finished ${out.job.id}`));
    assert.ok(types.includes('volume.created default/f.img'));
    assert.ok(types.includes('volume.deleted default/e.img'));
  }));

test('a second daemon on the same home is refused', () =>
  withDaemon(async (t) => {
    const { startDaemon } = await import('../../src/daemon/daemon.js');
    await assert.rejects(startDaemon({ home: t.home, listen: null, log: () => {} }), { code: 'ALREADY_EXISTS' });
    assert.equal((await t.client.call('version')).name, 'kvmpool', 'the first daemon still serves');
  }));

test('a TCP client without the token that resets its connection right after the request gets nothing done', () =>
  withDaemon(async (t) => {
    const net = await import('node:net');
    const [host, port] = [t.daemon.tcp!.replace(/:\d+$/, ''), Number(t.daemon.tcp!.split(':').pop())];
    /** Sends a request to define pool `name` over TCP; resets right after it, or returns the answer. */
    const define = (name: string, options: { token?: string; reset: boolean }) =>
      new Promise<string>((resolve) => {
        const body = JSON.stringify({ name, type: 'dir', target: `/srv/${name}` });
        const auth = options.token ? `authorization: Bearer ${options.token}\r\n` : '';
        let answer = '';
        const s = net.connect(port, host, () => {
          s.write(`POST /api/v1/pools HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${auth}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`, () => {
            if (options.reset) s.resetAndDestroy();
          });
        });
        s.on('data', (c: Buffer) => (answer += c.toString()));
        s.on('close', () => resolve(answer));
        s.on('error', () => {});
      });
    const pools = async () => (await t.client.call('listPools')).map((p) => p.name).sort();
    // The request itself is good: with the token it defines the pool; without, it is refused.
    assert.match(await define('kept', { token: t.token, reset: false }), /^HTTP\/1\.1 201 /);
    assert.deepEqual(await pools(), ['default', 'kept']);
    await t.client.call('undefinePool', { params: { pool: 'kept' } });
    assert.match(await define('refused', { reset: false }), /^HTTP\/1\.1 401 /);
    // A reset connection is no unix socket connection: it still needs the token.
    for (let i = 0; i < 20; i++) await define(`reset${i}`, { reset: true });
    assert.deepEqual(await pools(), ['default']);
  }));
