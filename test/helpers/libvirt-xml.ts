import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';

/** A libvirt domain around `devices` (written in `dir`), checked against libvirt's schema by virt-xml-validate. */
export async function validateDomain(dir: string, devices: string): Promise<void> {
  const file = path.join(dir, 'domain.xml');
  await writeFile(file, `<domain type="kvm"><name>check</name><memory unit="MiB">128</memory><os><type arch="x86_64">hvm</type></os><devices>\n${devices}</devices></domain>\n`);
  await run('virt-xml-validate', [file, 'domain']);
}
