/** Capabilities as data: what each volume supports, per pool type and format. */

/** Volume features kvmpool can offer. The API lists the ones a volume supports; the service checks them. */
export const VOLUME_FEATURES = ['delete', 'resize', 'shrink', 'rename'] as const;
export type VolumeFeature = (typeof VOLUME_FEATURES)[number];

/** Per-format feature lists of one driver. Formats not listed support nothing (read-only, listed). */
export type CapabilityTable = Record<string, readonly VolumeFeature[]>;

/** Features of a volume with the given format, before state-dependent restrictions. */
export function featuresFor(table: CapabilityTable, format: string): VolumeFeature[] {
  return [...(table[format] ?? [])];
}
