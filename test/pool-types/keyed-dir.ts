import { readFile } from 'node:fs/promises';
import { Type } from 'typebox';
import { KvmpoolError, errors } from '../../src/model/errors.js';
import { run } from '../../src/host/exec.js';
import type { StorageType } from '../../src/drivers/storage/driver.js';
import { dirDriver } from '../../src/drivers/storage/dir/dir.js';
import { FILE_CAPABILITIES } from '../../src/drivers/storage/file/file-driver.js';

/**
 * A pool type of the test suite's own making: a directory that opens only with a key, as a network
 * share or a Ceph pool opens only with a password or a cephx key. Its driver gets the key as a file
 * and checks it with a host command that reads that file (the value is never on a command line).
 */
const KeyedSettings = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 256, description: 'the key (write-only)' }),
    keySha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the key the storage accepts' }),
  },
  { additionalProperties: false },
);
const NoOptions = Type.Object({}, { additionalProperties: false });

/** The sha256 of the key file, by `sha256sum FILE`. */
async function keyDigest(file: string): Promise<string> {
  const { stdout } = await run('sha256sum', [file]);
  return stdout.split(' ')[0]!;
}

export const keyedDirType: StorageType<'keyed-dir', typeof KeyedSettings, typeof NoOptions> = {
  name: 'keyed-dir',
  summary: 'a directory that opens only with a key (tests)',
  source: KeyedSettings,
  secrets: ['key'],
  volumeOptions: NoOptions,
  target: 'directory',
  capabilities: FILE_CAPABILITIES,
  driver: {
    // A dir pool's lifecycle and volumes (it grows by no devices).
    ...dirDriver,
    devices: undefined,
    async validate(def) {
      if (!def.secrets['key']) throw errors.invalid('a keyed-dir pool needs its key (--key-file)');
      return { ...def, target: (await dirDriver.validate({ ...def, source: {} })).target };
    },
    async start(def) {
      await dirDriver.start({ ...def, source: {} }, { signal: new AbortController().signal, log: () => {}, progress: () => {} });
      const file = def.secrets['key'];
      if (!file || (await readFile(file, 'utf8').catch(() => '')) === '') throw new KvmpoolError('AUTH_FAILED', `pool ${def.name} has no key`);
      if ((await keyDigest(file)) !== def.source.keySha256) throw new KvmpoolError('AUTH_FAILED', `pool ${def.name}: the storage refused the key`, { pool: def.name });
    },
  },
};
