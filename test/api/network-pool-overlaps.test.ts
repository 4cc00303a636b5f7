import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { rawCall, startPool, withDaemon } from '../helpers/daemon.js';

/**
 * Network pools that would share what another pool has are refused at define (IN_USE naming that pool),
 * before anything is mounted or logged in to (nothing here is started: the addresses are never
 * reached): a share mounted inside another pool's directory, a second pool of an iSCSI target, a
 * logical pool on a LUN device another pool stands on.
 */
test('network pools: a target inside another pool, a target two pools would log in to, a LUN taken twice are IN_USE', () =>
  withDaemon(async (t) => {
    const local = await startPool(t, 'local');
    const define = (body: Record<string, unknown>) => rawCall(t.client, 'definePool', { body }).then(() => 'defined', (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);
    assert.match(await define({ name: 'nas', type: 'netfs', target: path.join(local, 'nas'), source: { host: '198.51.100.7', export: '/srv/vm' } }), /^IN_USE: .*pool 'local'/);
    assert.match(await define({ name: 'nas', type: 'netfs', target: path.dirname(local), source: { host: '198.51.100.7', export: '/srv/vm' } }), /^IN_USE: .*pool 'local'/, 'a target holding another pool');

    const iqn = 'iqn.2026-12.test.kvmpool:overlap';
    assert.equal(await define({ name: 'san', type: 'iscsi', source: { portals: ['198.51.100.7'], iqn } }), 'defined');
    assert.match(await define({ name: 'san2', type: 'iscsi', source: { portals: ['198.51.100.8'], iqn } }), /^IN_USE: .*pool 'san'/, 'the same target through another portal');
    assert.match(await define({ name: 'san3', type: 'iscsi', source: { portals: ['198.51.100.7'], iqn, direct: true, initiator: 'iqn.2026-12.test.kvmpool:h' } }), /^IN_USE: .*pool 'san'/, 'the same target, qemu-only');

    const lun = `/dev/disk/by-path/ip-198.51.100.7:3260-iscsi-${iqn}-lun-0`;
    assert.equal(await define({ name: 'vg1', type: 'logical', source: { devices: [lun] } }), 'defined');
    assert.match(await define({ name: 'vg2', type: 'logical', source: { devices: [lun] } }), /^IN_USE: .*pool 'vg1'/);
    // Nothing was made of the refused ones.
    const names = (await t.client.call('listPools', {})).map((p) => p.name);
    for (const refused of ['nas', 'san2', 'san3', 'vg2']) assert.ok(!names.includes(refused), `${refused} in ${names.join(', ')}`);
  }));
