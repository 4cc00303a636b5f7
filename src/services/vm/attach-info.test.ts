import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../host/exec.js';
import type { QemuDisk } from '../../host/qemu-system.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { diskAttachInfo } from './attach-info.js';

const base = { format: 'raw', bus: 'virtio', readonly: false, direct: true, discard: true } as const;
const disks: QemuDisk[] = [
  { ...base, ref: 'p/a.img', access: { kind: 'file', path: '/srv/p/a.img' } },
  { ...base, ref: 'vg/db', access: { kind: 'block', path: '/dev/vg/db' }, bus: 'scsi', readonly: true },
  { ...base, ref: 'ceph/vm1', access: { kind: 'rbd', pool: 'vms', namespace: 'ns', image: 'vm1', monitors: ['10.9.0.1:3300', '[fd00::1]:6789'], user: 'kvmpool', key: { file: '/k' } } },
  { ...base, ref: 'san/lun1', access: { kind: 'iscsi', portal: '10.9.0.3', target: 'iqn.2026-12.test:t', lun: 1, initiator: 'iqn.2026-12.test:host', user: 'u', password: { file: '/s' } } },
];

test('libvirt <disk> XML of file, block, rbd and iscsi volumes is valid against libvirt\'s domain schema', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    for (const d of disks) {
      const { text } = diskAttachInfo({ ...d, bus: 'virtio' }, 'libvirt');
      const file = path.join(dir, 'domain.xml');
      await writeFile(file, `<domain type="kvm"><name>check</name><memory unit="MiB">128</memory><os><type arch="x86_64">hvm</type></os><devices>\n${text}</devices></domain>\n`);
      await run('virt-xml-validate', [file, 'domain']);
    }
  } finally {
    await cleanup();
  }
});

test('protocol disks name their host, source and secret usage; secrets never appear', () => {
  const rbd = diskAttachInfo(disks[2]!, 'libvirt').text;
  assert.match(rbd, /<disk type="network"/);
  assert.match(rbd, /<source protocol="rbd" name="vms\/ns\/vm1">/);
  assert.match(rbd, /<host name="fd00::1" port="6789"\/>/);
  assert.match(rbd, /<secret type="ceph" usage="kvmpool-ceph"\/>/);
  const iscsi = diskAttachInfo(disks[3]!, 'libvirt').text;
  assert.match(iscsi, /<source protocol="iscsi" name="iqn.2026-12.test:t\/1">/);
  assert.match(iscsi, /<host name="10.9.0.3" port="3260"\/>/);
  const qemu = diskAttachInfo(disks[3]!, 'qemu').args!;
  assert.equal(qemu[0], '-object');
  assert.match(qemu[1]!, /^secret,id=[\w-]+-password,file=\/s$/);
});
