/**
 * Writes new, empty qcow2 images (version 3, "compat 1.1") without starting qemu-img: creating one is
 * four small writes. The layout is qemu-img's: cluster 0 holds the header, cluster 1 the refcount
 * table, cluster 2 its one refcount block (16-bit entries), and the L1 table starts at cluster 3; the
 * file ends where the L1 table ends. Images this layout cannot describe (a refcount block too small
 * for the metadata, an L1 table past qcow2's limit) are left to qemu-img (`undefined`).
 */

/** What to create. */
export interface Qcow2Spec {
  size: number;
  clusterSize: number;
  lazyRefcounts: boolean;
}

/** Byte ranges to write into an empty file, and the file's final size. */
export interface Qcow2Layout {
  writes: { offset: number; data: Buffer }[];
  fileSize: number;
}

const HEADER_LENGTH = 112;
/** qemu's cap on L1 entries (QCOW_MAX_L1_SIZE / 8). */
const MAX_L1_ENTRIES = (32 * 1024 * 1024) / 8;

export function qcow2Layout(spec: Qcow2Spec): Qcow2Layout | undefined {
  const { size, clusterSize } = spec;
  const clusterBits = Math.log2(clusterSize);
  if (!Number.isInteger(clusterBits) || clusterBits < 9 || clusterBits > 21) return undefined;
  const bytesPerL1Entry = clusterSize * (clusterSize / 8);
  const l1Entries = Math.ceil(size / bytesPerL1Entry);
  if (l1Entries > MAX_L1_ENTRIES) return undefined;
  const l1Clusters = Math.max(1, Math.ceil((l1Entries * 8) / clusterSize));
  const metadataClusters = 3 + l1Clusters;
  if (metadataClusters > clusterSize / 2) return undefined; // one 16-bit refcount block must cover them

  const header = Buffer.alloc(HEADER_LENGTH + 8); // + the end-of-extensions marker (zeros)
  header.writeUInt32BE(0x514649fb, 0); // magic "QFI\xfb"
  header.writeUInt32BE(3, 4); // version
  // 8: backing file offset (0), 16: backing file size (0)
  header.writeUInt32BE(clusterBits, 20);
  header.writeBigUInt64BE(BigInt(size), 24);
  // 32: encryption method (0)
  header.writeUInt32BE(l1Entries, 36);
  header.writeBigUInt64BE(BigInt(3 * clusterSize), 40); // L1 table offset
  header.writeBigUInt64BE(BigInt(clusterSize), 48); // refcount table offset
  header.writeUInt32BE(1, 56); // refcount table clusters
  // 60: snapshots (0), 64: snapshots offset (0), 72: incompatible features (0)
  header.writeBigUInt64BE(spec.lazyRefcounts ? 1n : 0n, 80); // compatible features: bit 0 lazy refcounts
  // 88: autoclear features (0)
  header.writeUInt32BE(4, 96); // refcount order: 16-bit refcounts
  header.writeUInt32BE(HEADER_LENGTH, 100);
  // 104: compression type (0, zlib) and padding

  const refTable = Buffer.alloc(8);
  refTable.writeBigUInt64BE(BigInt(2 * clusterSize), 0);
  const refBlock = Buffer.alloc(metadataClusters * 2);
  for (let i = 0; i < metadataClusters; i++) refBlock.writeUInt16BE(1, i * 2);

  return {
    writes: [
      { offset: 0, data: header },
      { offset: clusterSize, data: refTable },
      { offset: 2 * clusterSize, data: refBlock },
    ],
    fileSize: 3 * clusterSize + l1Entries * 8,
  };
}
