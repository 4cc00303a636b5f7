import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LockManager } from './locks.js';

test('operations on one name run one after another, in order', async () => {
  const locks = new LockManager();
  const order: string[] = [];
  const slow = (tag: string, ms: number) =>
    locks.with('vol:a', tag, async () => {
      order.push(`${tag}:start`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${tag}:end`);
    });
  await Promise.all([slow('one', 30), slow('two', 1), slow('three', 1)]);
  assert.deepEqual(order, ['one:start', 'one:end', 'two:start', 'two:end', 'three:start', 'three:end']);
  assert.equal(locks.holder('vol:a'), undefined);
});

test('tryAcquire fails with IN_USE naming the running operation', async () => {
  const locks = new LockManager();
  const release = await locks.acquire('vol:a', 'resize');
  assert.equal(locks.holder('vol:a'), 'resize');
  assert.throws(() => locks.tryAcquire('vol:a', 'delete', 'volume p/a'), (e: { code: string; message: string }) => e.code === 'IN_USE' && /resize in progress/.test(e.message));
  const other = locks.tryAcquire('vol:b', 'delete', 'volume p/b');
  other();
  release();
  release(); // a second release is harmless
  assert.equal(locks.holder('vol:a'), undefined);
});
