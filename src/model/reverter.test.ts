import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reverter } from './reverter.js';

test('on failure the undos run in reverse and the original error is kept', async () => {
  const done: string[] = [];
  const logs: string[] = [];
  const original = new Error('step 3 failed');
  const e = await Reverter.run(
    (m) => logs.push(m),
    async (r) => {
      r.add('undo 1', () => void done.push('1'));
      r.add('undo 2', () => {
        throw new Error('undo 2 broke');
      });
      r.add('undo 3', async () => void done.push('3'));
      throw original;
    },
  ).catch((x: unknown) => x);
  assert.equal(e, original);
  assert.deepEqual(done, ['3', '1']);
  assert.match(logs[0]!, /could not undo 2: undo 2 broke/);
});

test('on success nothing is undone', async () => {
  const done: string[] = [];
  const out = await Reverter.run(() => {}, async (r) => {
    r.add('undo', () => void done.push('x'));
    return 42;
  });
  assert.equal(out, 42);
  assert.deepEqual(done, []);
});
