import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../../test/helpers/tmp.js';
import { MIGRATIONS } from './migrations.js';
import { Store } from './store.js';

test('a store made before schema versions were recorded is brought up to date, its rows kept', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = path.join(dir, 'old.db');
    const old = new Database(file);
    // The layout of the first stores: no source column, no version.
    old.exec(`CREATE TABLE pools (name TEXT PRIMARY KEY, type TEXT NOT NULL, target TEXT NOT NULL, autostart INTEGER NOT NULL,
      built TEXT, active INTEGER NOT NULL DEFAULT 0, boot_id TEXT, created TEXT NOT NULL);
      CREATE TABLE volumes (key TEXT PRIMARY KEY, pool TEXT NOT NULL REFERENCES pools(name) ON DELETE CASCADE, name TEXT NOT NULL,
      managed INTEGER NOT NULL, created TEXT NOT NULL, facts TEXT NOT NULL, UNIQUE (pool, name));`);
    old.prepare("INSERT INTO pools VALUES ('p', 'dir', '/srv/p', 1, '[\"/srv/p\"]', 0, NULL, '2026-01-01T00:00:00Z')").run();
    const facts = { name: 'a.img', path: '/srv/p/a.img', format: 'raw', capacity: 1, allocation: 0, identity: '1:2', stamp: 'old' };
    old.prepare("INSERT INTO volumes VALUES ('k', 'p', 'a.img', 1, '2026-01-01T00:00:00Z', ?)").run(JSON.stringify(facts));
    old.close();
    const store = new Store(file);
    try {
      assert.deepEqual(store.pools.get('p'), { name: 'p', type: 'dir', target: '/srv/p', autostart: true, built: ['/srv/p'], active: false, bootId: null, created: '2026-01-01T00:00:00Z', source: {}, secretFields: [] });
      // Facts read before backing volumes were named are read again: their stamp is gone.
      const { stamp: _s, ...rest } = facts;
      assert.deepEqual(store.volumes.get('p', 'a.img')?.facts, rest);
    } finally {
      store.close();
    }
    const again = new Database(file);
    assert.equal(again.pragma('user_version', { simple: true }), MIGRATIONS.length);
    again.close();
  } finally {
    await cleanup();
  }
});

test('a row the store cannot trust is an error naming it, never a value of the wrong shape', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = path.join(dir, 'k.db');
    const store = new Store(file);
    store.pools.insert({ name: 'p', type: 'dir', target: '/srv/p', autostart: false, built: null, active: false, bootId: null, created: 'now', source: {}, secretFields: [] });
    store.volumes.put({ key: 'k', pool: 'p', name: 'a.img', managed: true, created: 'now', facts: { name: 'a.img', path: '/srv/p/a.img', format: 'raw', capacity: 1, allocation: 0, identity: 'x' } });
    store.close();
    const db = new Database(file);
    db.prepare(`UPDATE volumes SET facts = '{"name":"a.img","capacity":"big"}'`).run();
    db.prepare(`UPDATE pools SET source = 'not json'`).run();
    db.close();
    const reopened = new Store(file);
    try {
      assert.throws(() => reopened.volumes.list('p'), { code: 'INTERNAL', message: /record of volume p\/a.img is malformed/ });
      assert.throws(() => reopened.pools.list(), { code: 'INTERNAL', message: /record of pool p is malformed \(not JSON\)/ });
    } finally {
      reopened.close();
    }
  } finally {
    await cleanup();
  }
});

test('a store newer than this kvmpool is refused, not changed', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = path.join(dir, 'new.db');
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(() => new Store(file), /newer than this kvmpool knows/);
  } finally {
    await cleanup();
  }
});
