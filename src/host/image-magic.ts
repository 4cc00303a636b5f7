/**
 * Recognises image formats from their first bytes, so kvmpool never asks qemu-img to guess a user
 * file's format. Anything without a known signature is raw (as qemu-img and libvirt treat it).
 */

/** Bytes to read from the start of a file for `detectFormat`. */
export const MAGIC_BYTES = 512;

const SIGNATURES: { format: string; offset: number; magic: Buffer }[] = [
  { format: 'qcow2', offset: 0, magic: Buffer.from([0x51, 0x46, 0x49, 0xfb]) }, // "QFI\xfb"; version decides qcow vs qcow2
  { format: 'qed', offset: 0, magic: Buffer.from('QED\0', 'latin1') },
  { format: 'vmdk', offset: 0, magic: Buffer.from('KDMV', 'latin1') },
  { format: 'vmdk', offset: 0, magic: Buffer.from('# Disk DescriptorFile', 'latin1') },
  { format: 'vdi', offset: 0x40, magic: Buffer.from([0x7f, 0x10, 0xda, 0xbe]) },
  { format: 'vhdx', offset: 0, magic: Buffer.from('vhdxfile', 'latin1') },
  { format: 'vpc', offset: 0, magic: Buffer.from('conectix', 'latin1') },
  { format: 'luks', offset: 0, magic: Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]) },
];

/** The format a file's leading bytes announce; `raw` when none matches. */
export function detectFormat(head: Buffer): string {
  for (const sig of SIGNATURES) {
    const slice = head.subarray(sig.offset, sig.offset + sig.magic.length);
    if (slice.equals(sig.magic)) {
      if (sig.format === 'qcow2' && head.length >= 8 && head.readUInt32BE(4) === 1) return 'qcow';
      return sig.format;
    }
  }
  return 'raw';
}
