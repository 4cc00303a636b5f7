import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diskNode, qemuArgs, type QemuSpec } from './qemu-system.js';

const spec: QemuSpec = {
  name: 'web,1',
  uuid: '5f0c3a52-0000-4000-8000-000000000001',
  cpus: 2,
  memoryMiB: 512,
  accelerator: 'kvm',
  disks: [
    { ref: 'p/root.qcow2', access: { kind: 'file', path: '/srv/p/root.qcow2' }, format: 'qcow2', bus: 'virtio', readonly: false, direct: true, discard: true, bootIndex: 1 },
    { ref: 'vg/db', access: { kind: 'block', path: '/dev/vg/db' }, format: 'raw', bus: 'scsi', readonly: true, direct: false, discard: false },
  ],
  nics: [{ ref: 'lan/web1', ifname: 'kv0011aabb', mac: '52:54:00:00:00:01' }],
  kernel: '/boot/vmlinuz',
  qmpSocket: '/run/x,y/qmp.sock',
  consoleLog: '/run/x/console.log',
};

const after = (args: string[], flag: string) => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []));

test('the qemu command line: paused start, QMP, JSON disks with the right drivers, cache and aio, taps', () => {
  const args = qemuArgs(spec);
  assert.deepEqual(after(args, '-name'), ['guest=web,,1,debug-threads=on']);
  assert.deepEqual(after(args, '-accel'), ['kvm']);
  assert.deepEqual(after(args, '-cpu'), ['host']);
  assert.deepEqual(after(args, '-qmp'), ['unix:/run/x,,y/qmp.sock,server=on,wait=off']);
  assert.ok(args.includes('-S') && args.includes('-nodefaults'));
  const blockdevs = after(args, '-blockdev').map((b) => JSON.parse(b) as Record<string, unknown>);
  assert.deepEqual(blockdevs.map((b) => [b['driver'], b['node-name']]), [
    ['file', `${diskNode('p/root.qcow2')}-file`], ['qcow2', diskNode('p/root.qcow2')],
    ['host_device', `${diskNode('vg/db')}-file`], ['raw', diskNode('vg/db')],
  ]);
  assert.deepEqual([blockdevs[0]!['cache'], blockdevs[0]!['aio'], blockdevs[1]!['discard']], [{ direct: true, 'no-flush': false }, 'native', 'unmap']);
  assert.deepEqual([blockdevs[2]!['aio'], blockdevs[2]!['read-only'], blockdevs[3]!['discard']], ['threads', true, undefined]);
  const devices = after(args, '-device').map((d) => JSON.parse(d) as Record<string, unknown>);
  assert.deepEqual(devices.map((d) => d['driver']), ['virtio-scsi-pci', 'virtio-blk-pci', 'scsi-hd', 'virtio-net-pci']);
  assert.equal(devices[1]!['bootindex'], 1);
  assert.equal(devices[3]!['mac'], '52:54:00:00:00:01');
  assert.match(after(args, '-netdev')[0]!, /^tap,id=net-[0-9a-f]{12},ifname=kv0011aabb,script=no,downscript=no$/);
  assert.deepEqual(after(args, '-kernel'), ['/boot/vmlinuz']);
  assert.ok(!args.includes('-initrd') && !args.includes('-append'));
});

test('TCG gets no -cpu host; node names are stable per volume', () => {
  assert.ok(!qemuArgs({ ...spec, accelerator: 'tcg' }).includes('-cpu'));
  assert.equal(diskNode('p/a'), diskNode('p/a'));
  assert.notEqual(diskNode('p/a'), diskNode('p/b'));
});

test('protocol disks: an RBD image and an iSCSI LUN as -blockdev, their secrets as objects read from files', () => {
  const args = qemuArgs({
    ...spec,
    disks: [
      { ref: 'ceph/vm1', access: { kind: 'rbd', pool: 'vms', namespace: 'ns', image: 'vm1', monitors: ['10.9.0.1:3300', '10.9.0.2'], user: 'kvmpool', key: { file: '/var/kvmpool/secrets/pools/ceph/key' } }, format: 'raw', bus: 'virtio', readonly: false, direct: true, discard: true },
      { ref: 'san/lun1', access: { kind: 'iscsi', portal: '10.9.0.3:3260', target: 'iqn.2026-12.test:t', lun: 1, user: 'u', password: { file: '/s/chap' } }, format: 'raw', bus: 'scsi', readonly: false, direct: true, discard: false },
    ],
  });
  const objects = after(args, '-object');
  assert.deepEqual(objects, [`secret,id=${diskNode('ceph/vm1')}-key,file=/var/kvmpool/secrets/pools/ceph/key,format=base64`, `secret,id=${diskNode('san/lun1')}-password,file=/s/chap`]);
  const [rbd, , iscsi] = after(args, '-blockdev').map((b) => JSON.parse(b) as Record<string, unknown>);
  assert.deepEqual(rbd, {
    driver: 'rbd', pool: 'vms', namespace: 'ns', image: 'vm1', server: [{ host: '10.9.0.1', port: '3300' }, { host: '10.9.0.2', port: '3300' }], user: 'kvmpool',
    'auth-client-required': ['cephx'], 'key-secret': `${diskNode('ceph/vm1')}-key`,
    'node-name': `${diskNode('ceph/vm1')}-file`, 'read-only': false, cache: { direct: true, 'no-flush': false }, discard: 'unmap',
  });
  assert.deepEqual(iscsi, {
    driver: 'iscsi', transport: 'tcp', portal: '10.9.0.3:3260', target: 'iqn.2026-12.test:t', lun: 1, user: 'u', 'password-secret': `${diskNode('san/lun1')}-password`,
    'node-name': `${diskNode('san/lun1')}-file`, 'read-only': false, cache: { direct: true, 'no-flush': false },
  });
  // Objects come before the nodes that name them.
  assert.ok(args.indexOf('-object') < args.indexOf('-blockdev'));
});
