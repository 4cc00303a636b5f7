import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as lvm from './lvm.js';
import { parseLockOffset, parseLvs, parsePvmoveProgress, parsePvs, parseVgs } from './lvm-report.js';
import { HostCommandError } from './exec.js';
import { assertMalformed, checkGoldenArgv, recorded } from './testdata/golden.js';

// Recorded in the test host (LVM 2.03.16): two PVs in VG kvmrec and one in none; a thin pool, a thin
// volume and its thin snapshot (kvmpool's tags), a linear LV with a COW snapshot, a striped LV (inactive),
// a raid1 LV, and a foreign LV whose COW snapshot overflowed.
const lvs = recorded('lvm-lvs.json');

test('argv builders match the golden argv file', () => {
  checkGoldenArgv('lvm-argv.json', lvm);
});

test('parsePvs reads the PV report, a PV in no VG included', () => {
  assert.deepEqual(parsePvs(recorded('lvm-pvs.json')), [
    { name: '/dev/ubdb', vg: 'kvmrec', size: 264241152, free: 100663296 },
    { name: '/dev/ubdc', vg: 'kvmrec', size: 264241152, free: 222298112 },
    { name: '/dev/ubdd', vg: '', size: 268435456, free: 268435456 },
  ]);
});

test('parseVgs reads the VG report with tags', () => {
  assert.deepEqual(parseVgs(recorded('lvm-vgs.json')), [
    { name: 'kvmempty', size: 62914560, free: 62914560, extentSize: 4194304, tags: [], partial: false, shared: false },
    { name: 'kvmrec', size: 792723456, free: 570425344, extentSize: 4194304, tags: ['kvmpool'], partial: false, shared: false },
  ]);
  const partial = recorded('lvm-vgs.json').replace('"vg_attr":"wz--n-", "vg_size":"792723456"', '"vg_attr":"wz-pn-", "vg_size":"792723456"');
  assert.equal(parseVgs(partial)[1]!.partial, true);
  // A VG made with vgcreate --shared (lvmlockd): vg_attr wz--ns.
  const shared = recorded('lvm-vgs.json').replace('"vg_attr":"wz--n-", "vg_size":"792723456"', '"vg_attr":"wz--ns", "vg_size":"792723456"');
  assert.deepEqual(parseVgs(shared).map((v) => v.shared), [false, true]);
});

test('parseLvs reads thin pools, thin volumes and snapshots, COW snapshots, striped and raid1 LVs', () => {
  const all = new Map(parseLvs(lvs).map((lv) => [lv.name, lv]));
  assert.equal(all.size, 9);
  assert.deepEqual(all.get('thinpool'), {
    name: 'thinpool', vg: 'kvmrec', path: '/dev/kvmrec/thinpool', size: 67108864, segtype: 'thin-pool', uuid: 'HiDHwe-d0MN-wVci-4FlU-WIMr-XwsS-LkQFkf',
    tags: ['kvmpool'], stripes: 1, active: true, open: true, invalid: false, created: '2026-12-06 06:28:23 +0000', dataPercent: 6.25, metadataPercent: 10.94,
  });
  assert.deepEqual(all.get('web1'), {
    name: 'web1', vg: 'kvmrec', path: '/dev/kvmrec/web1', size: 134217728, segtype: 'thin', uuid: 'WocwOO-vFMm-Jk6k-5O9z-hyCx-01Mx-eUt84Z',
    tags: ['kvmpool'], stripes: 0, active: true, open: false, invalid: false, created: '2026-12-06 06:28:24 +0000', pool: 'thinpool', dataPercent: 3.12,
  });
  const thinSnap = all.get('ksnap_0a1b2c3d4e5f')!;
  assert.deepEqual([thinSnap.segtype, thinSnap.origin, thinSnap.pool, thinSnap.tags], ['thin', 'web1', 'thinpool', ['kvmpool_snap', 'kvmpool_snapname:before', 'kvmpool_snapof:x']]);
  const cow = all.get('ksnap_cow')!;
  assert.deepEqual([cow.segtype, cow.origin, cow.size, cow.dataPercent, cow.invalid, cow.pool], ['linear', 'db', 8388608, 0, false, undefined]);
  assert.equal(all.get('full_cow')!.invalid, true);
  assert.equal(all.get('full_cow')!.dataPercent, 100);
  const wide = all.get('wide')!;
  assert.deepEqual([wide.segtype, wide.stripes, wide.active, wide.open], ['striped', 2, false, false]);
  assert.deepEqual([all.get('mirror')!.segtype, all.get('mirror')!.stripes], ['raid1', 2]);
  assert.deepEqual(all.get('theirs')!.tags, []);
  assert.equal(all.get('db')!.dataPercent, undefined);
  assert.deepEqual(parseLvs(recorded('lvm-lvs-empty.json')), []);
});

test('LVM reports that are not what was asked for are malformed', () => {
  const bad = [
    '',
    'not json',
    '[]',
    '{}',
    '{"report": {}}',
    '{"report": [{"lv": {}}]}',
    '{"report": [{"lv": ["x"]}]}',
    lvs.replace('"lv_size":"33554432", ', ''),
    lvs.replace('"lv_size":"33554432"', '"lv_size":"32m"'),
    lvs.replace('"lv_size":"33554432"', '"lv_size":33554432'),
    lvs.replace('"data_percent":"6.25"', '"data_percent":"6,25"'),
    lvs.replace('"stripes":"2"', '"stripes":""'),
    lvs.replace('"lv_tags":"kvmpool", ', '"lv_tags":null, '),
  ];
  for (const output of bad) assertMalformed('lvm', parseLvs, output);
  for (const output of bad.slice(2)) JSON.parse(output);
  assertMalformed('lvm', parsePvs, recorded('lvm-pvs.json').replace('"pv_free":"100663296"', '"pv_free":"-"'));
  assertMalformed('lvm', parseVgs, recorded('lvm-vgs.json').replace('"vg_extent_size":"4194304", ', ''));
});

test('parsePvmoveProgress reads the last percentage pvmove printed', () => {
  assert.equal(parsePvmoveProgress(recorded('lvm-pvmove.txt')), 100);
  assert.equal(parsePvmoveProgress('  /dev/ubdb: Moved: 25.00%\n'), 25);
  assert.equal(parsePvmoveProgress('  WARNING: This metadata update is NOT backed up.\n'), undefined);
});

test('classify: an LVM command out of extents is NO_SPACE', () => {
  const failed = (stderr: string) => new HostCommandError('HOST_COMMAND_FAILED', 'lvm failed', { command: 'lvm', argv: [], exitCode: 5, signal: null, timedOut: false, stderr, durationMs: 1 });
  // Recorded: lvcreate of 4 GiB in a VG with 544 MiB free.
  assert.equal((lvm.classify(failed('Volume group "kvmrec" has insufficient free space (136 extents): 1024 required.')) as { code: string }).code, 'NO_SPACE');
  assert.equal((lvm.classify(failed('  Failed to find physical volume "/dev/ubde".')) as { code: string }).code, 'HOST_COMMAND_FAILED');
});

test('classify: an LV of a shared VG that another host has active is IN_USE', () => {
  const failed = new HostCommandError('HOST_COMMAND_FAILED', 'lvm failed', { command: 'lvm', argv: [], exitCode: 5, signal: null, timedOut: false, stderr: '  LV locked by other host: vgc/vm1\n  Failed to lock logical volume vgc/vm1.\n', durationMs: 1 });
  const e = lvm.classify(failed) as { code: string; details: Record<string, unknown> };
  assert.equal(e.code, 'IN_USE');
  assert.equal(e.details['lv'], 'vgc/vm1');
});

test('checkLvmName refuses names LVM rejects', () => {
  assert.equal(lvm.checkLvmName('volume', 'web1.img'), 'web1.img');
  for (const bad of ['', '-x', 'a b', 'snapshot1', 'x_tmeta', '..']) assert.throws(() => lvm.checkLvmName('volume', bad), { code: 'INVALID_ARGUMENT' }, bad);
});

test('parseLockOffset: where a shared VG\'s LV has its lease (recorded in the test host)', () => {
  const report = (args: string) => `{"report": [{"lv": [{"lv_name":"vm1", "lv_lockargs":"${args}"}]}]}`;
  assert.equal(parseLockOffset(report('1.0.0:70254592')), 70254592);
  assert.equal(parseLockOffset(report('')), undefined);
});
