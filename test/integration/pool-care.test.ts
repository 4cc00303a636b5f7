import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { StorageType } from '../../src/drivers/storage/driver.js';
import dir from '../../src/drivers/storage/dir/index.js';
import { rawCall, withDaemon } from '../helpers/daemon.js';

/**
 * The periodic care of running pools (a netfs remount, an iscsi map brought in step with its paths)
 * must never run between the steps of a stop or a start of the same pool: a map made again after a
 * stop removed it is left behind. A dir pool whose stop waits for the test shows where care runs.
 */
function caredDir() {
  const calls: string[] = [];
  let open: () => void = () => {};
  const stopping = new Promise<void>((resolve) => (open = resolve));
  let entered: () => void = () => {};
  const inStop = new Promise<void>((resolve) => (entered = resolve));
  const base = dir as unknown as StorageType;
  const type: StorageType = {
    ...base,
    name: 'cared-dir',
    driver: {
      ...base.driver,
      async maintain() {
        calls.push('maintain');
        return undefined;
      },
      async stop(def, op) {
        calls.push('stop begins');
        entered();
        await stopping;
        await base.driver.stop(def, op);
        calls.push('stop ends');
      },
    },
  };
  return { type, calls, inStop, finishStop: () => open() };
}

test('periodic pool care waits out a stop of the same pool, and runs for pools nobody is changing', async () => {
  const cared = caredDir();
  await withDaemon(
    async (t) => {
      await rawCall(t.client, 'definePool', { body: { name: 'c', type: 'cared-dir', target: path.join(t.home, 'c') } });
      await t.client.call('buildPool', { params: { pool: 'c' } });
      await t.client.call('startPool', { params: { pool: 'c' } });
      await t.daemon.pools.maintain();
      assert.deepEqual(cared.calls, ['maintain'], 'a running pool is looked after');
      const stop = t.client.call('stopPool', { params: { pool: 'c' } });
      await cared.inStop;
      await t.daemon.pools.maintain();
      cared.finishStop();
      await stop;
      await t.daemon.pools.maintain();
      assert.deepEqual(cared.calls, ['maintain', 'stop begins', 'stop ends'], 'no care in the middle of the stop, none once stopped');
    },
    { storageTypes: [cared.type] },
  );
});
