import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { abortable } from './abortable.js';

const cancelled = () => new Error('cancelled');

test('abortable settles with the promise and leaves no listener on the signal', async () => {
  const controller = new AbortController();
  for (let i = 0; i < 100; i++) assert.equal(await abortable(Promise.resolve(i), controller.signal, cancelled), i);
  await assert.rejects(abortable(Promise.reject(new Error('boom')), controller.signal, cancelled), /boom/);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
});

test('abortable rejects as soon as the signal aborts, and at once when it already has', async () => {
  const controller = new AbortController();
  const never = new Promise<number>(() => {});
  const pending = abortable(never, controller.signal, cancelled);
  controller.abort();
  await assert.rejects(pending, /cancelled/);
  await assert.rejects(abortable(Promise.resolve(1), controller.signal, cancelled), /cancelled/);
});
