import assert from 'node:assert/strict';
import type { KvmpoolClient } from '../../../src/client/client.js';
import { givenGuest, waitConsole } from '../../helpers/guest.js';

/**
 * Boots the storage tests' guest (DISK_GUEST_SCRIPT) under TCG with `disk` as its only disk, waits
 * until it has read its first bytes and written its own, runs `whileRunning`, then kills and undefines
 * the VM. Returns what the guest read and how long it took from start to its write.
 */
export async function bootOnVolume(client: KvmpoolClient, vm: string, disk: { pool: string; volume: string }, whileRunning: () => Promise<void> = async () => {}): Promise<{ read: string; seconds: number }> {
  const guest = givenGuest();
  assert.ok(guest, 'the test host was given no guest (KVMPOOL_TEST_GUEST)');
  await client.call('defineVm', { body: { name: vm, cpus: 1, memory: '128M', kernel: guest.kernel, initrd: guest.initrd, append: guest.append, disks: [disk] } });
  try {
    const started = performance.now();
    await client.call('startVm', { params: { vm } });
    // TCG inside the test host: a few times slower than on the machine itself.
    const out = await waitConsole(client, vm, /WROTE/, 180_000);
    const seconds = (performance.now() - started) / 1000;
    const read = /READ (.{16})/.exec(out)?.[1];
    assert.ok(read !== undefined, out);
    await whileRunning();
    return { read, seconds };
  } finally {
    // Errors here must not hide the test's own.
    await client.call('killVm', { params: { vm } }).catch(() => undefined);
    await client.call('undefineVm', { params: { vm } }).catch(() => undefined);
  }
}
