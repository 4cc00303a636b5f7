import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { kvmpool, serve, type CliResult } from '../helpers/cli.js';
import { buildGuest, type Guest } from '../helpers/guest.js';
import { NetLab } from '../helpers/netlab.js';
import { tempDir } from '../helpers/tmp.js';
import { validateDomain } from '../helpers/libvirt-xml.js';

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  return r;
}

test('VMs from the CLI: define with disk options, start, console, attach-info for qemu and libvirt (schema-valid), a daemon killed while the VM runs, kill, undefine', { timeout: 300_000 }, async () => {
  const { dir, cleanup } = await tempDir();
  const home = path.join(dir, 'home');
  const lab = new NetLab();
  const k = (...args: string[]) => kvmpool(['--home', home, ...args]);
  let daemon = await serve(home);
  let guest: Guest | undefined;
  try {
    guest = await buildGuest('echo HELLO-FROM-THE-GUEST; ls /sys/block');
    ok(await k('pool', 'define', 'vms', '--type', 'dir', '--target', path.join(dir, 'vms')), 'pool define');
    ok(await k('pool', 'build', 'vms'), 'pool build');
    ok(await k('pool', 'start', 'vms'), 'pool start');
    ok(await k('vol', 'create', 'vms/root.qcow2', '--size', '64M', '--format', 'qcow2'), 'vol create');
    ok(await k('vol', 'create', 'vms/seed.img', '--size', '8M'), 'vol create');
    const net = lab.name('br');
    ok(await k('net', 'define', net, '--kind', 'bridge'), 'net define');
    ok(await k('net', 'start', net), 'net start');
    ok(await k('port', 'create', `${net}/nic0`), 'port create');

    // attach-info: qemu arguments and libvirt XML that libvirt's schema accepts.
    const qemuArgs = JSON.parse(ok(await k('--json', 'vol', 'attach-info', 'vms/root.qcow2', '--as', 'qemu'), 'attach-info').stdout) as { args: string[] };
    assert.equal(qemuArgs.args[0], '-blockdev');
    assert.equal(JSON.parse(qemuArgs.args[3]!).driver, 'qcow2');
    assert.equal(JSON.parse(qemuArgs.args[5]!).driver, 'virtio-blk-pci');
    const disk = ok(await k('vol', 'attach-info', 'vms/seed.img', '--as', 'libvirt', '--bus', 'scsi', '--readonly'), 'attach-info').stdout;
    assert.match(disk, /<disk type="file" device="disk">/);
    assert.match(disk, /<target dev="sda" bus="scsi"\/>/);
    assert.match(disk, /<readonly\/>/);
    const nic = ok(await k('port', 'attach-info', `${net}/nic0`, '--as', 'libvirt'), 'attach-info').stdout;
    assert.match(nic, /<interface type="ethernet">[\s\S]*<target dev="kv[0-9a-f]{8}" managed="no"\/>/);
    assert.match(ok(await k('port', 'attach-info', `${net}/nic0`), 'attach-info').stdout, /^-netdev tap,id=net-\w+,ifname=kv[0-9a-f]{8},script=no,downscript=no -device /);
    await validateDomain(dir, disk + ok(await k('vol', 'attach-info', 'vms/root.qcow2', '--as', 'libvirt'), 'attach-info').stdout + nic);
    await assert.rejects(validateDomain(dir, '<disk type="file" device="disk"><source file="/x"/></disk>'), 'the validator refuses a disk without a target');

    ok(await k('vm', 'define', 'web', '--cpus', '1', '--memory', '128M', '--disk', 'vms/root.qcow2', '--disk', 'vms/seed.img,bus=scsi,readonly', '--nic', `${net}/nic0`, '--kernel', guest.kernel, '--initrd', guest.initrd, '--append', guest.append), 'vm define');
    const bad = await k('vm', 'define', 'web2', '--cpus', '1', '--memory', '128M', '--disk', 'vms/seed.img,bus=ide');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown disk bus 'ide'/);
    const info = JSON.parse(ok(await k('--json', 'vm', 'info', 'web'), 'vm info').stdout) as { disks: unknown[]; state: string; accelerator: unknown; pid: unknown };
    assert.deepEqual([info.state, info.accelerator, info.pid], ['stopped', null, null]);
    assert.deepEqual(info.disks, [{ pool: 'vms', volume: 'root.qcow2', bus: 'virtio', readonly: false }, { pool: 'vms', volume: 'seed.img', bus: 'scsi', readonly: true }]);

    const started = JSON.parse(ok(await k('--json', 'vm', 'start', 'web'), 'vm start').stdout) as { pid: number; state: string; accelerator: string };
    for (const key of ['name', 'state', 'accelerator', 'pid', 'disks', 'nics']) assert.ok(key in started, key);
    let out = '';
    for (let i = 0; i < 240 && !/sda/.test(out); i++) {
      out = ok(await k('vm', 'console', 'web'), 'vm console').stdout;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(out, /HELLO-FROM-THE-GUEST/);
    assert.match(out, /sda[\s\S]*vda|vda[\s\S]*sda/, 'the guest has the SCSI and the virtio disk');
    assert.match(ok(await k('vm', 'list'), 'vm list').stdout, /^web\s+running\s+1\s+128 MiB\s+2\s+1\s+(tcg|kvm)\s+\d+/m);

    // The daemon dies (SIGKILL): the VM runs on, and the next daemon finds it.
    daemon.child.kill('SIGKILL');
    await daemon.stop();
    process.kill(started.pid, 0);
    daemon = await serve(home);
    const again = JSON.parse(ok(await k('--json', 'vm', 'info', 'web'), 'vm info').stdout) as { pid: number; state: string };
    assert.deepEqual([again.state, again.pid], ['running', started.pid]);

    const killed = JSON.parse(ok(await k('--json', 'vm', 'kill', 'web'), 'vm kill').stdout) as { state: string };
    assert.equal(killed.state, 'stopped');
    ok(await k('vm', 'undefine', 'web'), 'vm undefine');
    ok(await k('net', 'stop', net), 'net stop');
  } finally {
    await k('vm', 'kill', 'web').catch(() => {});
    await daemon.stop();
    await guest?.cleanup();
    await lab.cleanup();
    await cleanup();
  }
});
