import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { BASE_FEATURES, VOLUME_STATES, withheldIn, type CapabilityTable, type VolumeFeature, type VolumeState } from '../../src/model/capabilities.js';
import type { VolumeBody } from '../../src/api/schemas.js';
import { localExtents, readSparse } from '../../src/transfer/sparse-reader.js';
import { rawCall, withDaemon, type TestDaemon } from '../helpers/daemon.js';

/** What a type's test file hands the capability suite. */
export interface CapabilityFixture {
  /** The body of `POST /pools` for a fresh pool of the type, and what removes its storage afterwards. */
  define(t: TestDaemon): Promise<{ body: Record<string, unknown>; cleanup: () => Promise<void> }>;
  /** Volume options every volume of the suite gets (a logical pool's volumes are thin, so they clone instantly). */
  createOptions?: Record<string, unknown>;
  /** What every snapshot of the suite is taken with (a thick LV's copy-on-write snapshot needs its room). */
  snapshotOptions?: { size?: string };
  /** States that cannot be brought about here, each with the reason. */
  skipStates?: Partial<Record<VolumeState, string>>;
}

const MiB = 1024 * 1024;

/**
 * The capability table against behaviour, through the daemon's API: for every format the type creates,
 * each feature a plain volume lists works, each other one is refused with NOT_SUPPORTED, and each state
 * (snapshots, backing a clone, a VM's disk, a running VM's) withholds exactly what the table says, with
 * IN_USE (CANNOT_SHRINK for a shrink).
 */
export function capabilityConformance(name: string, fx: CapabilityFixture): void {
  test(`${name}: every feature a volume lists works, every other is NOT_SUPPORTED, and states withhold what the table says`, { timeout: 900_000 }, (tc) =>
    withDaemon(async (t) => {
      const { body, cleanup } = await fx.define(t);
      const pool = String(body['name']);
      try {
        await rawCall(t.client, 'definePool', { body });
        await t.client.api.buildPool({ params: { pool } });
        await t.client.api.startPool({ params: { pool } });
        const type = (await t.client.api.listStorageTypes()).find((x) => x.name === body['type'])!;
        const table = type.capabilities as CapabilityTable;
        const methods = [...new Set((await t.client.api.listStorageTypes()).flatMap((x) => x.cloneMethods.map((m) => m.name)))];
        const every: VolumeFeature[] = [...BASE_FEATURES, ...methods.map((m) => `clone-${m}` as const)];
        const ops = new Operations(t, pool, fx.createOptions ?? {}, fx.snapshotOptions ?? {});
        for (const format of type.createFormats) {
          const offered = (await ops.create(`probe.${format}`, format)).features;
          for (const feature of every) {
            const vol = await ops.create(`v-${feature}.${format}`, format);
            if (offered.includes(feature)) await ops.perform(feature, vol).catch((e: unknown) => assert.fail(`${format} ${feature} is listed but failed: ${String(e)}`));
            else await assert.rejects(ops.perform(feature, vol), { code: 'NOT_SUPPORTED' }, `${format} ${feature} is not listed`);
          }
          for (const state of VOLUME_STATES) {
            if (fx.skipStates?.[state]) {
              tc.diagnostic(`${format} volumes in state ${state}: not checked: ${fx.skipStates[state]}`);
              continue;
            }
            const vol = await ops.create(`state-${state}.${format}`, format);
            const withheld = expand(withheldIn(table, format, vol.kind, state), offered);
            const entered = await ops.enter(state, vol, offered);
            if (typeof entered === 'string') {
              tc.diagnostic(`${format} volumes in state ${state}: not checked: ${entered}`);
              continue;
            }
            let gone = false;
            try {
              const now = (await ops.info(vol.name)).features;
              const also = ops.alsoWithheld(state, table, format, vol.kind, offered);
              const expected = offered.filter((f) => !(withheld as string[]).includes(f) && !(also as string[]).includes(f));
              assert.deepEqual([...now].sort(), expected.sort(), `${format} in state ${state}`);
              for (const feature of [...withheld, ...also]) {
                await assert.rejects(ops.perform(feature, vol), { code: feature === 'shrink' && state === 'snapshots' ? 'CANNOT_SHRINK' : 'IN_USE' }, `${format} ${feature} in state ${state}`);
              }
              // What the state leaves, it leaves working: each is done (a delete last: it ends the volume).
              for (const feature of expected.filter((f): f is VolumeFeature => f !== 'delete')) {
                await ops.perform(feature, await ops.info(vol.name)).catch((e: unknown) => assert.fail(`${format} ${feature} is listed in state ${state} but failed: ${String(e)}`));
              }
              if (expected.includes('delete')) {
                await ops.perform('delete', vol);
                gone = true;
              }
            } finally {
              if (!gone) await entered();
            }
          }
        }
      } finally {
        await t.client.api.stopPool({ params: { pool }, body: { force: true } }).catch(() => undefined);
        await t.client.api.deletePool({ params: { pool }, body: { force: true } }).catch(() => undefined);
        await cleanup();
      }
    }),
  );
}

/** A withheld list with `clone` standing for every clone method the volume offers. */
function expand(list: readonly VolumeFeature[], offered: readonly string[]): VolumeFeature[] {
  return offered.filter((f): f is VolumeFeature => list.includes(f as VolumeFeature) || (f.startsWith('clone-') && list.includes('clone')));
}

/** The API calls behind each feature and state, on volumes of one pool. */
class Operations {
  private readonly c;

  constructor(
    private readonly t: TestDaemon,
    private readonly pool: string,
    private readonly options: Record<string, unknown>,
    private readonly snapshot: { size?: string },
  ) {
    this.c = t.client.api;
  }

  async create(name: string, format: string): Promise<VolumeBody> {
    return (await rawCall(this.t.client, 'createVolume', { params: { pool: this.pool }, body: { name, capacity: 8 * MiB, format, ...this.options } })) as VolumeBody;
  }

  info(volume: string): Promise<VolumeBody> {
    return this.c.getVolume({ params: { pool: this.pool, volume } });
  }

  private async job(started: Promise<{ job: { id: string } }>): Promise<unknown> {
    const end = await this.t.client.waitJob((await started).job.id);
    if (end.state !== 'succeeded') throw Object.assign(new Error(`job ${end.kind} ${end.state}: ${end.error?.message}`), { code: end.error?.code });
    return end.result;
  }

  /** Does what `feature` names on `vol`, and checks it did. */
  async perform(feature: VolumeFeature, vol: VolumeBody): Promise<void> {
    const params = { pool: this.pool, volume: vol.name };
    if (feature === 'delete') {
      await this.c.deleteVolume({ params });
      await assert.rejects(this.info(vol.name), { code: 'NOT_FOUND' });
    } else if (feature === 'resize') {
      assert.ok((await this.c.resizeVolume({ params, body: { capacity: vol.capacity + 4 * MiB } })).capacity > vol.capacity);
    } else if (feature === 'shrink') {
      assert.ok((await this.c.resizeVolume({ params, body: { capacity: vol.capacity / 2, shrink: true } })).capacity < vol.capacity);
    } else if (feature === 'rename') {
      await this.c.renameVolume({ params, body: { name: `${vol.name}-renamed` } });
      await this.c.renameVolume({ params: { pool: this.pool, volume: `${vol.name}-renamed` }, body: { name: vol.name } });
    } else if (feature === 'clone' || feature.startsWith('clone-')) {
      const method = feature === 'clone' ? 'copy' : feature.slice('clone-'.length);
      const made = (await this.job(this.c.cloneVolume({ params, body: { name: `${vol.name}-${method}`, method } }))) as { volume: VolumeBody; method: string };
      assert.equal(made.method, method);
      await this.c.deleteVolume({ params: { pool: this.pool, volume: made.volume.name } });
    } else if (feature === 'snapshot') {
      await this.c.createSnapshot({ params, body: { name: 'probe', ...this.snapshot } });
      assert.ok((await this.c.listSnapshots({ params })).some((s) => s.name === 'probe'));
      await this.c.deleteSnapshot({ params: { ...params, snapshot: 'probe' } });
    } else if (feature === 'revert') {
      await this.c.createSnapshot({ params, body: { name: 'back', ...this.snapshot } });
      await this.job(this.c.revertSnapshot({ params: { ...params, snapshot: 'back' } }));
      await this.c.deleteSnapshot({ params: { ...params, snapshot: 'back' } });
    } else if (feature === 'flatten') {
      assert.equal(((await this.job(this.c.flattenVolume({ params }))) as { volume: VolumeBody }).volume.parent, undefined);
    } else if (feature === 'wipe') {
      await this.job(this.c.wipeVolume({ params, body: {} }));
    } else if (feature === 'upload') {
      const file = path.join(this.t.home, `upload.${vol.format}`);
      if (vol.format === 'qcow2') await run('qemu-img', ['create', '-q', '-f', 'qcow2', file, String(vol.capacity)]);
      else await writeFile(file, Buffer.alloc(MiB, 7));
      const extents = await localExtents(file);
      const size = (await import('node:fs/promises').then((f) => f.stat(file))).size;
      await this.t.client.upload(this.pool, vol.name, readSparse(file, 0, size, { ...(extents ? { extents } : {}), hash: true }));
    } else if (feature === 'download') {
      const dl = await this.t.client.download(this.pool, vol.name);
      let bytes = 0;
      for await (const chunk of dl.frames) bytes += (chunk as Buffer).length;
      assert.ok(bytes > 0);
    } else {
      assert.fail(`no check for ${feature}`);
    }
  }

  /** What the other states a state brings along withhold too (a running VM's disk is also a VM's disk). */
  alsoWithheld(state: VolumeState, table: CapabilityTable, format: string, kind: string | undefined, offered: string[]): VolumeFeature[] {
    const along: Partial<Record<VolumeState, VolumeState[]>> = { running: ['attached', 'reading'], reading: ['attached', 'running'], writing: ['attached', 'running'] };
    return (along[state] ?? []).flatMap((s) => expand(withheldIn(table, format, kind, s), offered));
  }

  /** Brings the volume into `state`; returns what ends it, or why the volume cannot be in it. */
  async enter(state: VolumeState, vol: VolumeBody, offered: string[]): Promise<(() => Promise<void>) | string> {
    const params = { pool: this.pool, volume: vol.name };
    if (state === 'snapshots') {
      if (!offered.includes('snapshot')) return 'its volumes take no snapshots';
      await this.c.createSnapshot({ params, body: { name: 'held', ...this.snapshot } });
      return async () => void (await this.c.deleteSnapshot({ params: { ...params, snapshot: 'held' } }));
    }
    if (state === 'backing') {
      // Clones that stand on their source: a qcow2 overlay, an RBD layered clone.
      const method = ['linked', 'layered'].find((m) => offered.includes(`clone-${m}`));
      if (!method) return 'no volume can stand on another (no linked or layered clones)';
      await this.job(this.c.cloneVolume({ params, body: { name: `${vol.name}-overlay`, method } }));
      return async () => void (await this.c.deleteVolume({ params: { pool: this.pool, volume: `${vol.name}-overlay` } }));
    }
    const vm = `cap-${state}-${vol.format}`;
    await this.c.defineVm({ body: { name: vm, cpus: 1, memory: '64M', disks: [{ pool: this.pool, volume: vol.name, readonly: state !== 'writing' && state !== 'attached' }] } });
    if (state !== 'attached') await this.c.startVm({ params: { vm } });
    return async () => {
      await this.c.killVm({ params: { vm } });
      await this.c.undefineVm({ params: { vm } });
    };
  }
}
