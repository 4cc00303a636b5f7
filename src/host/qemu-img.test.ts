import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkArgs, classify, convertArgs, createArgs, imageOpts, infoArgs, mapArgs, overlayArgs, parseCheck, parseInfo, parseMap, parseProgress, resizeArgs, snapshotArgs } from './qemu-img.js';
import { HostCommandError } from './exec.js';

const golden = JSON.parse(readFileSync(new URL('../../../src/host/testdata/qemu-img-argv.json', import.meta.url), 'utf8')) as Record<string, string[]>;

test('argv builders match the golden argv file', () => {
  assert.deepEqual(createArgs({ path: '/p/a.img', format: 'raw', size: 1073741824, prealloc: 'off' }), golden['create-raw-sparse']);
  assert.deepEqual(createArgs({ path: '/p/a.img', format: 'raw', size: 1048576, prealloc: 'full' }), golden['create-raw-full']);
  assert.deepEqual(
    createArgs({ path: '/p/b.qcow2', format: 'qcow2', size: 10737418240, prealloc: 'metadata', clusterSize: 2097152, lazyRefcounts: true }),
    golden['create-qcow2-options'],
  );
  assert.deepEqual(infoArgs('/p/b.qcow2', 'qcow2'), golden['info']);
  assert.deepEqual(resizeArgs('/p/a.img', 'raw', 2048, false), golden['resize-grow']);
  assert.deepEqual(resizeArgs('/p/a.img', 'raw', 1024, true), golden['resize-shrink']);
  assert.deepEqual(checkArgs('/p/b.qcow2'), golden['check']);
  assert.deepEqual(convertArgs({ source: { access: { kind: 'file', path: '/a/s.img' }, format: 'raw' }, target: '/b/t.qcow2', targetFormat: 'qcow2', direct: true }), golden['convert-direct']);
  assert.deepEqual(convertArgs({ source: { access: { kind: 'file', path: '/a/s.qcow2' }, format: 'qcow2' }, target: '/b/t.img', targetFormat: 'raw', direct: false }), golden['convert-cached']);
  const rbd = { kind: 'rbd', pool: 'vms', image: 'a,b', monitors: ['127.0.0.1:3300', '[::1]'], user: 'kvmpool', key: { file: '/home/secrets/k' } } as const;
  assert.deepEqual(convertArgs({ source: { access: rbd, format: 'raw' }, target: '/b/t.img', targetFormat: 'raw', direct: false }), golden['convert-rbd']);
  const iscsi = { kind: 'iscsi', portal: '127.0.0.1:3260', target: 'iqn.2026-12.test:t', lun: 1, user: 'u', password: { file: '/s/p' } } as const;
  assert.deepEqual(convertArgs({ source: { access: iscsi, format: 'raw' }, target: '/b/t.img', targetFormat: 'raw', direct: false }), golden['convert-iscsi']);
  assert.deepEqual(overlayArgs('/p/.vm.qcow2.kvmpool-part', 'base.qcow2', 'qcow2', 1048576), golden['overlay']);
  assert.deepEqual(snapshotArgs('create', '/p/a,b.qcow2', 'snap1'), golden['snapshot-create']);
  assert.deepEqual(mapArgs('/p/a.img', 'raw'), golden['map']);
});

test('every argv names the format explicitly (-f, -O/-F, or driver= in image options)', () => {
  for (const argv of Object.values(golden)) assert.ok(argv.includes('-f') || argv.some((a) => a.startsWith('driver=')), argv.join(' '));
});

test('secrets are handed to qemu-img as files, never as values on the command line', () => {
  for (const [name, argv] of Object.entries(golden).filter(([n]) => n.startsWith('convert-rbd') || n.startsWith('convert-iscsi'))) {
    const objects = argv.filter((a, i) => argv[i - 1] === '--object');
    assert.ok(objects.length > 0 && objects.every((o) => /^secret,id=[\w-]+,file=\//.test(o)), name);
    assert.ok(!argv.some((a) => /password=|key=[^-]/.test(a)), name);
  }
});

test('image options escape commas in paths', () => {
  assert.equal(imageOpts('/p/a,b.qcow2', 'qcow2'), 'driver=qcow2,file.driver=file,file.filename=/p/a,,b.qcow2');
});

test('parseProgress reads the last percentage of qemu-img -p output', () => {
  assert.equal(parseProgress('    (0.00/100%)\r    (12.50/100%)\r'), 12.5);
  assert.equal(parseProgress('    (100.00/100%)\r\n'), 100);
  assert.equal(parseProgress('nothing'), undefined);
});

test('parseMap reads extents and refuses malformed output', () => {
  const sample = '[{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "offset": 0},\n{ "start": 65536, "length": 983040, "depth": 0, "present": false, "zero": true, "data": false}]';
  assert.deepEqual(parseMap(sample), [
    { start: 0, length: 65536, data: true, zero: false },
    { start: 65536, length: 983040, data: false, zero: true },
  ]);
  assert.throws(() => parseMap('{}'), { code: 'HOST_COMMAND_FAILED' });
  assert.throws(() => parseMap('[{"start": 0}]'), { code: 'HOST_COMMAND_FAILED' });
});

test('parseInfo reads qemu-img 7.2 output', () => {
  const sample = readFileSync(new URL('../../../src/host/testdata/qemu-img-info-qcow2.json', import.meta.url), 'utf8');
  assert.deepEqual(parseInfo(sample), {
    format: 'qcow2',
    virtualSize: 1073741824,
    actualSize: 200704,
    backingFilename: 'base.img',
    fullBackingFilename: '/pool/base.img',
    backingFormat: 'raw',
    snapshots: 1,
    dirty: false,
    clusterSize: 65536,
  });
});

test('parseInfo refuses malformed output', () => {
  for (const bad of ['', 'not json', '[]', '{"format":"raw"}', '{"virtual-size":1}', 'null']) {
    assert.throws(() => parseInfo(bad), (e: { code: string }) => e.code === 'HOST_COMMAND_FAILED', bad);
  }
});

test('parseCheck counts corruptions and leaks, zero when omitted', () => {
  assert.deepEqual(parseCheck('{"image-end-offset": 262144, "total-clusters": 16384, "check-errors": 0, "filename": "a", "format": "qcow2"}'), { corruptions: 0, leaks: 0, checkErrors: 0 });
  assert.deepEqual(parseCheck('{"corruptions": 2, "leaks": 1, "check-errors": 0}'), { corruptions: 2, leaks: 1, checkErrors: 0 });
  assert.throws(() => parseCheck('x'));
});

test('classify maps known qemu-img failures to codes', () => {
  const failed = (stderr: string) => new HostCommandError('HOST_COMMAND_FAILED', 'qemu-img failed', { command: 'qemu-img', argv: [], exitCode: 1, signal: null, timedOut: false, stderr, durationMs: 1 });
  assert.equal((classify(failed("qemu-img: /p/a: Could not resize file: No space left on device")) as { code: string }).code, 'NO_SPACE');
  assert.equal((classify(failed("qemu-img: /p/a.qcow2: The image size is too large for file format 'qcow2' (try using a larger cluster size)")) as { code: string }).code, 'INVALID_ARGUMENT');
  assert.equal((classify(failed('qemu-img: Failed to grow: File too large')) as { code: string }).code, 'INVALID_ARGUMENT');
  assert.equal((classify(failed('qemu-img: something else')) as { code: string }).code, 'HOST_COMMAND_FAILED');
});
