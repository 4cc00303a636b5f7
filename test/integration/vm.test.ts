import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import type { VmBody } from '../../src/api/vm-schemas.js';
import { startPool, withDaemon, type TestDaemon } from '../helpers/daemon.js';
import { buildGuest, waitConsole, type Guest } from '../helpers/guest.js';
import { NetLab } from '../helpers/netlab.js';

/**
 * VMs end to end under TCG: a tiny guest boots with a qcow2 and a raw volume of a dir pool and a tap on a
 * bridge network; what it reads, writes, sees and pings is checked on the host and on its console.
 */

const MiB = 1024 * 1024;

/** The guest: reports what its disks hold, writes to the second, pings the host side, then reports its disks whenever they change. */
const GUEST_SCRIPT = `
for d in vda vdb; do echo "READ $d $(head -c 16 /dev/$d)"; done
printf GUEST-WROTE-THIS | dd of=/dev/vdb bs=512 seek=8 conv=notrunc,fsync 2>/dev/null && echo WROTE
ip link set lo up; ip link set eth0 up; ip addr add 10.88.0.2/24 dev eth0
i=0; while [ $i -lt 20 ]; do ping -c1 -W1 10.88.0.1 >/dev/null 2>&1 && { echo PING-OK; break; }; i=$((i+1)); done
last=""; lastnet=""
while :; do
  now="$(cd /sys/block && for d in vd* sd*; do [ -e "$d" ] && printf "%s:%s " $d $(cat $d/size); done)"
  [ "$now" != "$last" ] && echo "DISKS $now" && last="$now"
  net="$(ls /sys/class/net | tr '\n' ' ')"
  [ "$net" != "$lastnet" ] && echo "NICS $net" && lastnet="$net"
  sleep 0.3
done
`;

/** Waits until `holds` (polling), or fails naming `what` after `timeoutMs`. */
async function until(what: string, holds: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills every VM of the daemon (VMs outlive daemons: a test must end its own). */
async function killAll(t: TestDaemon): Promise<void> {
  for (const vm of await t.client.call('listVms')) {
    if (vm.state === 'running' || vm.state === 'paused') await t.client.call('killVm', { params: { vm: vm.name } }).catch(() => {});
  }
}

/** A dir pool with the guest's volumes, their first bytes written on the host. */
async function volumes(t: TestDaemon): Promise<string> {
  const target = await startPool(t, 'vmpool');
  await t.client.call('createVolume', { params: { pool: 'vmpool' }, body: { name: 'root.qcow2', capacity: '64M', format: 'qcow2' } });
  await t.client.call('createVolume', { params: { pool: 'vmpool' }, body: { name: 'data.img', capacity: '32M' } });
  await t.client.call('createVolume', { params: { pool: 'vmpool' }, body: { name: 'hot.img', capacity: '16M' } });
  const pattern = path.join(t.home, 'pattern');
  await writeFile(pattern, 'HOST-QCOW2-DATA!');
  await run('qemu-io', ['-f', 'qcow2', '-c', `write -s ${pattern} 0 16`, path.join(target, 'root.qcow2')]);
  const data = await readFile(path.join(target, 'data.img'));
  data.write('HOST-RAW-DATA---', 0);
  await writeFile(path.join(target, 'data.img'), data);
  return target;
}

test('a VM boots with a qcow2 and a raw volume and a tap: reads the host pattern, writes one back, pings, sees a grown disk and a hot-plugged one', { timeout: 300_000 }, () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    let guest: Guest | undefined;
    try {
      const target = await volumes(t);
      guest = await buildGuest(GUEST_SCRIPT);
      const net = lab.name('br');
      await t.client.call('defineNetwork', { body: { name: net, kind: 'bridge' } });
      await t.client.call('startNetwork', { params: { network: net } });
      const tap = await t.client.call('createPort', { params: { network: net }, body: { name: 'vm1' } });
      await t.client.call('createPort', { params: { network: net }, body: { name: 'host', type: 'veth', peer: lab.name('hp') } });
      await lab.moveInto(lab.name('hp'), await lab.netns('ns'), '10.88.0.1/24');

      const defined = await t.client.call('defineVm', {
        body: {
          name: 'vm1', cpus: 1, memory: '256M', kernel: guest.kernel, initrd: guest.initrd, append: guest.append,
          disks: [{ pool: 'vmpool', volume: 'root.qcow2' }, { pool: 'vmpool', volume: 'data.img' }],
          nics: [{ network: net, port: 'vm1' }],
        },
      });
      assert.equal(defined.state, 'stopped');
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'vm1' } })).usedBy, 'vm1');

      const started = await t.client.call('startVm', { params: { vm: 'vm1' } });
      assert.equal(started.state, 'running');
      assert.ok(started.accelerator === 'tcg' || started.accelerator === 'kvm');
      assert.ok(started.pid && started.pid > 0);
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'vm1' } })).attached, true, 'qemu holds the tap');

      // The script's order: reads, write, ping, then its first DISKS line.
      const out = await waitConsole(t.client, 'vm1', /DISKS vda:131072 vdb:65536 /);
      assert.match(out, /READ vda HOST-QCOW2-DATA!/);
      assert.match(out, /READ vdb HOST-RAW-DATA---/);
      assert.match(out, /WROTE/);
      assert.match(out, /PING-OK/);
      void tap;

      // A running VM's volumes are in use; a second VM cannot have its writable disk.
      const attempts = [
        () => t.client.call('deleteVolume', { params: { pool: 'vmpool', volume: 'data.img' } }),
        () => t.client.call('resizeVolume', { params: { pool: 'vmpool', volume: 'data.img' }, body: { capacity: '16M', shrink: true } }),
        () => t.client.call('wipeVolume', { params: { pool: 'vmpool', volume: 'data.img' }, body: {} }),
        () => t.client.call('renameVolume', { params: { pool: 'vmpool', volume: 'data.img' }, body: { name: 'other.img' } }),
        () => t.client.call('defineVm', { body: { name: 'vm2', cpus: 1, memory: '128M', disks: [{ pool: 'vmpool', volume: 'data.img' }] } }),
        () => t.client.call('defineVm', { body: { name: 'vm2', cpus: 1, memory: '128M', nics: [{ network: net, port: 'vm1' }] } }),
      ];
      for (const attempt of attempts) await assert.rejects(attempt(), { code: 'IN_USE', message: /(vm|by) vm1\b/ });
      await assert.rejects(t.client.call('defineVm', { body: { name: 'vm1', cpus: 1, memory: '128M' } }), { code: 'ALREADY_EXISTS' });

      // Online growth: the guest sees the new size without a reboot.
      const grown = await t.client.call('resizeVolume', { params: { pool: 'vmpool', volume: 'root.qcow2' }, body: { capacity: '96M' } });
      assert.equal(grown.capacity, 96 * MiB);
      await waitConsole(t.client, 'vm1', /DISKS vda:196608 vdb:65536 /);

      // A snapshot of the running qcow2 goes through qemu.
      await t.client.call('createSnapshot', { params: { pool: 'vmpool', volume: 'root.qcow2' }, body: { name: 'live' } });
      const snaps = await t.client.call('listSnapshots', { params: { pool: 'vmpool', volume: 'root.qcow2' } });
      assert.deepEqual(snaps.map((s) => s.name), ['live']);
      await assert.rejects(t.client.call('revertSnapshot', { params: { pool: 'vmpool', volume: 'root.qcow2', snapshot: 'live' } }), { code: 'IN_USE' });

      // Hot-plug and unplug of a disk.
      await t.client.call('attachDisk', { params: { vm: 'vm1' }, body: { pool: 'vmpool', volume: 'hot.img' } });
      await waitConsole(t.client, 'vm1', /DISKS vda:196608 vdb:65536 vdc:32768 /);
      await t.client.call('detachDisk', { params: { vm: 'vm1' }, body: { pool: 'vmpool', volume: 'hot.img' } });
      const lastDisks = (out: string) => out.split(/\r?\n/).filter((l) => l.startsWith('DISKS')).pop()?.trim();
      await waitConsole(t.client, 'vm1', (o) => lastDisks(o) === 'DISKS vda:196608 vdb:65536');
      assert.deepEqual((await t.client.call('getVm', { params: { vm: 'vm1' } })).disks.map((d) => d.volume), ['root.qcow2', 'data.img']);
      await t.client.call('deleteVolume', { params: { pool: 'vmpool', volume: 'hot.img' } });

      // Hot-plug and unplug of a NIC: the port is the VM's while attached.
      await t.client.call('createPort', { params: { network: net }, body: { name: 'vm1b' } });
      await t.client.call('attachNic', { params: { vm: 'vm1' }, body: { network: net, port: 'vm1b' } });
      await waitConsole(t.client, 'vm1', /NICS eth0 eth1 lo/);
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'vm1b' } })).usedBy, 'vm1');
      await t.client.call('detachNic', { params: { vm: 'vm1' }, body: { network: net, port: 'vm1b' } });
      const lastNics = (o: string) => o.split(/\r?\n/).filter((l) => l.startsWith('NICS')).pop()?.trim();
      await waitConsole(t.client, 'vm1', (o) => lastNics(o) === 'NICS eth0 lo');
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'vm1b' } })).usedBy, null);

      // stop: ACPI power button, the guest powers off.
      const stopped = await t.client.call('stopVm', { params: { vm: 'vm1' }, body: { timeout: 60 } });
      assert.equal(stopped.state, 'stopped');
      await waitConsole(t.client, 'vm1', /GUEST-POWEROFF/, 1000);
      const written = await readFile(path.join(target, 'data.img'));
      assert.equal(written.subarray(4096, 4096 + 16).toString(), 'GUEST-WROTE-THIS');
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'vm1' } })).attached, false);

      // Stopped, its disks can be wiped and reverted, but not deleted or renamed while the VM has them.
      await t.client.call('revertSnapshot', { params: { pool: 'vmpool', volume: 'root.qcow2', snapshot: 'live' } }).then((r) => t.client.waitJob(r.job.id));
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'vmpool', volume: 'data.img' } }), { code: 'IN_USE', message: /disk of vm vm1/ });
      await assert.rejects(t.client.call('renameVolume', { params: { pool: 'vmpool', volume: 'data.img' }, body: { name: 'x.img' } }), { code: 'IN_USE' });
      // Undefined, the VM lets go of its volumes and port.
      await t.client.call('undefineVm', { params: { vm: 'vm1' } });
      await t.client.call('renameVolume', { params: { pool: 'vmpool', volume: 'data.img' }, body: { name: 'data2.img' } });
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'vm1' } })).usedBy, null);
      await t.client.call('stopNetwork', { params: { network: net }, body: { force: true } });
    } finally {
      await killAll(t);
      await guest?.cleanup();
      await lab.cleanup();
    }
  }));

test('VMs survive a daemon restart and are found again; kill is immediate; a crash is reported with its reason', { timeout: 300_000 }, () =>
  withDaemon(async (t) => {
    let guest: Guest | undefined;
    try {
      await volumes(t);
      // The guest ignores the power button, but says when it watches it and when it is pressed.
      guest = await buildGuest(
        [
          'for e in /sys/class/input/event*; do',
          '  [ "$(cat $e/device/name 2>/dev/null)" = "Power Button" ] && (exec 3</dev/input/${e##*/}; echo BUTTON-WATCHED; dd bs=24 count=1 <&3 2>/dev/null >/dev/null; echo POWER-BUTTON-IGNORED) &',
          'done',
          'echo STARTED',
        ].join('\n'),
        { ignorePowerButton: true },
      );
      await t.client.call('defineVm', { body: { name: 'vm1', cpus: 2, memory: '128M', kernel: guest.kernel, initrd: guest.initrd, append: guest.append, disks: [{ pool: 'vmpool', volume: 'data.img', readonly: true }] } });
      // Read-only disks may be shared.
      await t.client.call('defineVm', { body: { name: 'vm2', cpus: 1, memory: '128M', kernel: guest.kernel, initrd: guest.initrd, append: guest.append, disks: [{ pool: 'vmpool', volume: 'data.img', readonly: true }] } });
      const first = await t.client.call('startVm', { params: { vm: 'vm1' } });
      const second = await t.client.call('startVm', { params: { vm: 'vm2' } });
      await waitConsole(t.client, 'vm1', /STARTED/);
      await waitConsole(t.client, 'vm2', /STARTED/);

      await t.restart();
      const found = await t.client.call('getVm', { params: { vm: 'vm1' } });
      assert.deepEqual([found.state, found.pid], ['running', first.pid]);
      assert.equal((await t.client.call('getVm', { params: { vm: 'vm2' } })).pid, second.pid);
      assert.ok(t.logs.some((l) => l.includes('vm vm1: found running')));
      // The reconnected monitor works: a kill through it ends the VM.
      const killed = await t.client.call('killVm', { params: { vm: 'vm1' } });
      assert.equal(killed.state, 'stopped');
      assert.equal(killed.reason, 'stopped by kvmpool');
      assert.throws(() => process.kill(first.pid!, 0));

      // A guest that ignores the power button is killed when the stop's time is up.
      await t.client.call('startVm', { params: { vm: 'vm1' } });
      await waitConsole(t.client, 'vm1', /BUTTON-WATCHED/);
      const stopped = await t.client.call('stopVm', { params: { vm: 'vm1' }, body: { timeout: 2 } });
      assert.deepEqual([stopped.state, stopped.reason], ['stopped', 'stopped by kvmpool']);
      // The guest got the button press and ran on after it (no power-off of its own), then was killed.
      const { data: afterStop } = await t.client.call('vmConsole', { params: { vm: 'vm1' }, query: {} });
      assert.match(afterStop, /BUTTON-WATCHED[\s\S]*POWER-BUTTON-IGNORED/);
      assert.doesNotMatch(afterStop, /GUEST-POWEROFF/);

      // qemu killed behind kvmpool's back: the VM is crashed, with the reason.
      process.kill(second.pid!, 'SIGKILL');
      const crashed = async (vm: string) => {
        let info: VmBody;
        do info = await t.client.call('getVm', { params: { vm } });
        while (info.state === 'running');
        return info;
      };
      const lost = await crashed('vm2');
      assert.equal(lost.state, 'crashed');
      assert.match(lost.reason!, /qemu ended/);
      // A qemu this daemon started: its exit status is known.
      const third = await t.client.call('startVm', { params: { vm: 'vm1' } });
      await waitConsole(t.client, 'vm1', /STARTED/);
      process.kill(third.pid!, 'SIGKILL');
      const info = await crashed('vm1');
      assert.equal(info.state, 'crashed');
      assert.match(info.reason!, /SIGKILL/);
    } finally {
      await killAll(t);
      await guest?.cleanup();
    }
  }));

test('a guest that floods its console cannot fill the disk: the log is cut to its last part', { timeout: 300_000 }, () =>
  withDaemon(
    async (t) => {
      let guest: Guest | undefined;
      try {
        // About 1.3 MiB of console output against a 256 KiB limit.
        guest = await buildGuest('i=0; while [ $i -lt 40 ]; do head -c 32768 /dev/zero | tr "\\0" x; echo; i=$((i+1)); done; echo FLOOD-DONE');
        await t.client.call('defineVm', { body: { name: 'loud', cpus: 1, memory: '128M', kernel: guest.kernel, initrd: guest.initrd, append: guest.append } });
        const vm = await t.client.call('startVm', { params: { vm: 'loud' } });
        await waitConsole(t.client, 'loud', /FLOOD-DONE/, 120_000);
        const log = path.join(t.home, 'vms', vm.uuid, 'console.log');
        // The daemon cuts logs on a timer: wait until it has cut this one below the limit.
        await until(`the console log cut below 256 KiB`, async () => (await stat(log)).size <= 256 * 1024 && t.logs.some((l) => l.includes('vm loud: console log cut')));
        assert.match((await readFile(log, 'utf8')).trimEnd(), /FLOOD-DONE$/);
        // qemu's own log is cut too: its stderr appends (O_APPEND, 02000 in fdinfo's octal flags), so
        // what qemu writes after a cut lands at the new end, not past a hole.
        const flags = /^flags:\s+([0-7]+)$/m.exec(await readFile(`/proc/${vm.pid}/fdinfo/2`, 'utf8'))?.[1];
        assert.ok(flags && (parseInt(flags, 8) & 0o2000) !== 0, `qemu's stderr flags: ${flags}`);
        const qemuLog = path.join(t.home, 'vms', vm.uuid, 'qemu.log');
        await appendFile(qemuLog, 'q'.repeat(600 * 1024));
        await until(`qemu's log cut below 256 KiB`, async () => (await stat(qemuLog)).size <= 256 * 1024 && t.logs.some((l) => l.includes('vm loud: qemu log cut')));
      } finally {
        await killAll(t);
        await guest?.cleanup();
      }
    },
    { vmConsoleBytes: 256 * 1024 },
  ));

test('bad VM input: CPUs and memory out of range, missing disks and ports, a veth as a NIC, a qemu that exits at once', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    try {
      await volumes(t);
      const define = (body: Record<string, unknown>) => t.client.call('defineVm', { body: { name: 'bad', cpus: 1, memory: '128M', ...body } as never });
      await assert.rejects(define({ cpus: 0 }), { code: 'INVALID_ARGUMENT', message: /CPU/ });
      await assert.rejects(define({ cpus: 256 }), { code: 'INVALID_ARGUMENT', message: /CPU/ });
      await assert.rejects(define({ memory: '1M' }), { code: 'INVALID_ARGUMENT', message: /memory/ });
      await assert.rejects(define({ memory: '64T' }), { code: 'INVALID_ARGUMENT', message: /memory/ });
      await assert.rejects(define({ name: 'a/b' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define({ disks: [{ pool: 'vmpool', volume: 'nope.img' }] }), { code: 'NOT_FOUND' });
      await assert.rejects(define({ disks: [{ pool: 'vmpool', volume: 'data.img', bus: 'ide' }] }), { code: 'INVALID_ARGUMENT', message: /bus/ });
      await assert.rejects(define({ disks: [{ pool: 'vmpool', volume: 'data.img' }, { pool: 'vmpool', volume: 'data.img' }] }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define({ nics: [{ network: 'nonet', port: 'p' }] }), { code: 'NOT_FOUND' });
      await assert.rejects(define({ kernel: '/nonexistent/vmlinuz' }), { code: 'NOT_FOUND' });
      await assert.rejects(define({ kernel: 'vmlinuz' }), { code: 'INVALID_ARGUMENT', message: /absolute/ });
      const net = lab.name('br');
      await t.client.call('defineNetwork', { body: { name: net, kind: 'bridge' } });
      await t.client.call('startNetwork', { params: { network: net } });
      await t.client.call('createPort', { params: { network: net }, body: { name: 'v', type: 'veth' } });
      await assert.rejects(define({ nics: [{ network: net, port: 'v' }] }), { code: 'INVALID_ARGUMENT', message: /tap/ });
      assert.deepEqual(await t.client.call('listVms'), []);

      // A volume that backs a linked clone may only be a read-only disk.
      const { job } = await t.client.call('cloneVolume', { params: { pool: 'vmpool', volume: 'root.qcow2' }, body: { name: 'child.qcow2', method: 'linked' } });
      assert.equal((await t.client.waitJob(job.id)).state, 'succeeded');
      const kernelFile = path.join(t.home, 'k');
      await writeFile(kernelFile, 'x');
      await define({ name: 'base', kernel: kernelFile, disks: [{ pool: 'vmpool', volume: 'root.qcow2' }] });
      await assert.rejects(t.client.call('startVm', { params: { vm: 'base' } }), { code: 'IN_USE', message: /backing file of vmpool\/child.qcow2/ });
      await t.client.call('undefineVm', { params: { vm: 'base' } });

      // A "kernel" that is not one: qemu says why, and that reaches the user.
      const notKernel = path.join(t.home, 'not-a-kernel');
      await writeFile(notKernel, 'hello');
      await define({ kernel: notKernel });
      await assert.rejects(t.client.call('startVm', { params: { vm: 'bad' } }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'HOST_COMMAND_FAILED');
        assert.match(e.message, /qemu exited at once.*kernel/i);
        return true;
      });
      assert.equal((await t.client.call('getVm', { params: { vm: 'bad' } })).state, 'stopped');
      await t.client.call('undefineVm', { params: { vm: 'bad' } });
      await t.client.call('stopNetwork', { params: { network: net }, body: { force: true } });
    } finally {
      await killAll(t);
      await lab.cleanup();
    }
  }));
