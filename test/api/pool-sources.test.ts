import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { rawCall, withDaemon } from '../helpers/daemon.js';

/**
 * Discovery's checks and failures on this machine (which runs no NFS or CIFS server: the searches that
 * find something run in the test host, test/testhost/inside/netfs.inside.ts).
 */
test('pool sources: bad searches are refused before any tool runs; no server is UNAVAILABLE; no secret stays', () =>
  withDaemon(async (t) => {
    const types = await t.client.call('listStorageTypes', {});
    const netfs = types.find((x) => x.name === 'netfs')!;
    assert.deepEqual(netfs.sourcesSecrets, ['password']);
    assert.equal(netfs.flags.sourcesQuery['password'], 'secret-file');
    assert.equal(types.find((x) => x.name === 'dir')!.sourcesQuery, undefined);

    const find = (body: unknown) => rawCall(t.client, 'findPoolSources', { body }).then(() => 'found', (e: { code?: string }) => e.code);
    assert.equal(await find({ type: 'dir' }), 'NOT_SUPPORTED');
    assert.equal(await find({ type: 'nope', host: 'x' }), 'INVALID_ARGUMENT');
    assert.equal(await find({ type: 'netfs' }), 'INVALID_ARGUMENT');
    assert.equal(await find({ type: 'netfs', host: '127.0.0.1', share: 'x' }), 'INVALID_ARGUMENT');
    assert.equal(await find({ type: 'netfs', host: '127.0.0.1;reboot' }), 'INVALID_ARGUMENT');
    assert.equal(await find({ type: 'netfs', host: '-oProxyCommand=x' }), 'INVALID_ARGUMENT');
    assert.equal(await find({ type: 'netfs', host: '127.0.0.1', username: 'root' }), 'INVALID_ARGUMENT');
    assert.equal(await find({ type: 'netfs', host: '127.0.0.1', protocol: 'cifs', password: 'x' }), 'INVALID_ARGUMENT');

    // Nothing serves NFS or CIFS on this machine's loopback: an answer at once, not a hang.
    for (const body of [
      { type: 'netfs', host: '127.0.0.1' },
      { type: 'netfs', host: '127.0.0.1', protocol: 'cifs', username: 'root', password: 'Secret-123' },
    ]) {
      const started = performance.now();
      assert.equal(await find(body), 'UNAVAILABLE', JSON.stringify(body));
      assert.ok(performance.now() - started < 35_000);
    }
    const transient = path.join(t.home, 'secrets', 'transient');
    assert.deepEqual(await readdir(transient).catch(() => []), [], 'the password of a search is not kept');
  }));
