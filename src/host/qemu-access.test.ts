import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { VolumeAccess } from '../model/access.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { HostCommandError, run } from './exec.js';
import { sourceArgs } from './qemu-img.js';
import { QEMU, diskBlockdevs, diskSecrets } from './qemu-system.js';
import { secretObjectArg } from './qemu-access.js';

/** Storage nobody serves on this machine: qemu must get as far as connecting, and fail there. */
const accesses = (secret: string): VolumeAccess[] => [
  { kind: 'rbd', pool: 'vms', namespace: 'ns', image: 'vm1', monitors: ['127.0.0.1:1'], user: 'kvmpool', key: { file: secret } },
  { kind: 'iscsi', portal: '127.0.0.1:1', target: 'iqn.2026-12.test:none', lun: 0, initiator: 'iqn.2026-12.test:host', user: 'u', password: { file: secret } },
];

/** What qemu said when it failed; the test fails if it did not. */
async function failure(command: string, args: string[]): Promise<string> {
  const e = await run(command, args, { timeoutMs: 60_000 }).then(
    () => assert.fail(`${command} opened storage nobody serves`),
    (x: unknown) => x,
  );
  assert.ok(e instanceof HostCommandError && e.code === 'HOST_COMMAND_FAILED', String(e));
  return e.details.stderr;
}

/** qemu refuses options it does not know before it connects anywhere. */
const parsed = (stderr: string) => !/Parameter '|Invalid parameter|is missing|unexpected|Unsupported|unknown option/i.test(stderr);

test('qemu-img and qemu take the rbd and iscsi descriptions as they are (they fail connecting, not parsing)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const secret = path.join(dir, 'secret');
    // Base64 text, as a cephx key file holds (the rbd key is decoded from it).
    await writeFile(secret, Buffer.from('not-a-real-key').toString('base64'), { mode: 0o600 });
    for (const access of accesses(secret)) {
      const { options, image } = sourceArgs({ access, format: 'raw' });
      const img = await failure('qemu-img', ['info', ...options, image]);
      assert.ok(parsed(img) && /connect/i.test(img), `qemu-img with ${access.kind}: ${img}`);
      const disk = { ref: `p/${access.kind}`, access, format: 'raw', bus: 'virtio', readonly: true, direct: false, discard: false } as const;
      const args = ['-S', '-nodefaults', '-display', 'none', '-machine', 'none'];
      for (const s of diskSecrets(disk)) args.push('-object', secretObjectArg(s));
      for (const b of diskBlockdevs(disk)) args.push('-blockdev', JSON.stringify(b));
      const vm = await failure(QEMU, args);
      assert.ok(parsed(vm) && /connect/i.test(vm), `qemu with ${access.kind}: ${vm}`);
    }
  } finally {
    await cleanup();
  }
});
