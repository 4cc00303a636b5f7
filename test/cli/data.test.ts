import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { lstat, stat } from 'node:fs/promises';
import { run } from '../../src/host/exec.js';
import { kvmpool, withServe, type CliResult } from '../helpers/cli.js';
import { allocated, qemuReads, qemuWrite, sha256File, writePattern } from '../helpers/image.js';

const MiB = 1024 * 1024;

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  return r;
}

test('the data commands from the CLI: clone, snap, wipe, download and upload', () =>
  withServe(async ({ dir, home, k }) => {
    const pool = path.join(home, 'pools', 'default');
    ok(await k('vol', 'create', 'default/src.img', '--size', '32M'), 'create');
    await writePattern(path.join(pool, 'src.img'), 4 * MiB, 2 * MiB, 0x6b);
    const clone = JSON.parse(ok(await k('vol', 'clone', 'default/src.img', 'copy.qcow2', '--format', 'qcow2', '--json'), 'clone').stdout) as { method: string; format: string; name: string };
    assert.deepEqual([clone.name, clone.format, clone.method], ['copy.qcow2', 'qcow2', 'copy']);
    assert.match(ok(await k('vol', 'clone', 'default/copy.qcow2', 'vm1.qcow2', '--method', 'linked'), 'linked').stdout, /cloned default\/copy.qcow2 to default\/vm1.qcow2 \(linked\)/);
    const refused = await k('vol', 'clone', 'default/src.img', 'r.img', '--method', 'reflink');
    assert.equal(refused.code, 9);
    assert.match(refused.stderr, /NOT_SUPPORTED/);

    ok(await k('snap', 'create', 'default/vm1.qcow2@clean'), 'snap create');
    await qemuWrite(path.join(pool, 'vm1.qcow2'), 'qcow2', 0, MiB, 0x21);
    const snaps = JSON.parse(ok(await k('snap', 'list', 'default/vm1.qcow2', '--json'), 'snap list').stdout) as { name: string; kind: string }[];
    assert.deepEqual(snaps.map((s) => [s.name, s.kind]), [['clean', 'internal']]);
    assert.match(ok(await k('snap', 'list', 'default/vm1.qcow2'), 'snap list').stdout, /^clean\s+\S+\s+32 MiB\s+-\s+internal/m);
    ok(await k('snap', 'revert', 'default/vm1.qcow2@clean'), 'revert');
    assert.ok(await qemuReads(path.join(pool, 'vm1.qcow2'), 'qcow2', 0, MiB, 0));
    ok(await k('snap', 'delete', 'default/vm1.qcow2@clean'), 'snap delete');

    const local = path.join(dir, 'local.img');
    const dl = ok(await k('vol', 'download', 'default/src.img', local, '--sparse', '--verify'), 'download').stdout;
    const sum = await sha256File(path.join(pool, 'src.img'));
    assert.match(dl, new RegExp(`sha256 ${sum} \\(verified\\)`));
    assert.equal(await sha256File(local), sum);
    assert.ok((await allocated(local)) < 4 * MiB);
    const dense = path.join(dir, 'dense.img');
    ok(await k('vol', 'download', 'default/src.img', dense), 'dense download');
    assert.ok((await allocated(dense)) >= 32 * MiB, 'without --sparse the local file is written whole');
    assert.equal((await stat(dense)).size, 32 * MiB);
    assert.equal(await sha256File(dense), sum, 'the allocated holes read as zeros');
    // Where fallocate cannot run (a streamed download, written by a CLI without it), the holes are written as zeros.
    const zeroed = path.join(dir, 'zeroed.img');
    ok(await kvmpool(['--home', home, 'vol', 'download', 'default/src.img', zeroed, '--stream'], { PATH: '/nonexistent' }), 'download without fallocate');
    assert.ok((await allocated(zeroed)) >= 32 * MiB);
    assert.equal(await sha256File(zeroed), sum);
    // Only a file (or a symlink) is replaced: a FIFO, like a device, is refused and left there.
    const fifo = path.join(dir, 'fifo');
    await run('mkfifo', [fifo]);
    const toFifo = await k('vol', 'download', 'default/src.img', fifo);
    assert.equal(toFifo.code, 2);
    assert.match(toFifo.stderr, /is not a regular file: refused \[INVALID_ARGUMENT\]/);
    assert.ok((await lstat(fifo)).isFIFO());
    // A range is refused there too, before the daemon sends anything (opening a FIFO to append would hang).
    const rangeToFifo = await k('vol', 'download', 'default/src.img', fifo, '--offset', '0', '--length', '1M');
    assert.equal(rangeToFifo.code, 2);
    assert.ok((await lstat(fifo)).isFIFO());
    // A range without --sparse leaves the whole file allocated, also holes an earlier cut-off download left.
    const resumed = path.join(dir, 'resumed.img');
    ok(await k('vol', 'download', 'default/src.img', resumed, '--sparse', '--length', '16M'), 'first half, sparse');
    ok(await k('vol', 'download', 'default/src.img', resumed, '--offset', '16M'), 'second half');
    assert.equal(await sha256File(resumed), sum);
    assert.ok((await allocated(resumed)) >= 32 * MiB, 'the resumed file is allocated whole');
    const missing = await k('vol', 'upload', 'default/src.img', path.join(dir, 'missing.img'));
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /missing.img: no such file or directory \[NOT_FOUND\]/);

    ok(await k('vol', 'create', 'default/dst.img', '--size', '32M'), 'create dst');
    const up = JSON.parse(ok(await k('vol', 'upload', 'default/dst.img', local, '--verify', '--json'), 'upload').stdout) as { sha256: string };
    assert.equal(up.sha256, sum);
    assert.equal(await sha256File(path.join(pool, 'dst.img')), sum);

    // --stream sends the bytes as a remote client does, also on the daemon's host.
    const streamed = path.join(dir, 'streamed.img');
    assert.match(ok(await k('vol', 'download', 'default/src.img', streamed, '--sparse', '--verify', '--stream'), 'streamed download').stdout, new RegExp(`sha256 ${sum} \\(verified\\)`));
    assert.equal(await sha256File(streamed), sum);
    ok(await k('vol', 'create', 'default/dst2.img', '--size', '32M'), 'create dst2');
    const up2 = JSON.parse(ok(await k('vol', 'upload', 'default/dst2.img', streamed, '--verify', '--stream', '--json'), 'streamed upload').stdout) as { sha256: string };
    assert.equal(up2.sha256, sum);
    assert.equal(await sha256File(path.join(pool, 'dst2.img')), sum);

    ok(await k('vol', 'wipe', 'default/dst.img', '--verify'), 'wipe');
    assert.ok(await qemuReads(path.join(pool, 'dst.img'), 'raw', 0, 32 * MiB, 0));
    const bad = await k('vol', 'wipe', 'default/dst.img', '--algorithm', 'shred');
    assert.equal(bad.code, 2);
  }));
