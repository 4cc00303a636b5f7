import { outputOf, type JsonObject } from './tool-output.js';

/** LVM's JSON reports (`--reportformat json --units b --nosuffix`): what kvmpool reads of PVs, VGs and LVs, checked. */

/** A physical volume; `vg` is empty for a PV in no VG. */
export interface PvInfo {
  name: string;
  vg: string;
  size: number;
  free: number;
}

/** A volume group. */
export interface VgInfo {
  name: string;
  size: number;
  free: number;
  extentSize: number;
  tags: string[];
  /** One of its PVs is missing (vg_attr's fourth character is `p`). */
  partial: boolean;
  /** Shared by hosts through lvmlockd (vg_attr's sixth character is `s`). */
  shared: boolean;
}

/** A logical volume as `lvs` reports it. */
export interface LvInfo {
  name: string;
  vg: string;
  path: string;
  size: number;
  /** LVM's segment type: linear, striped, raid1, thin, thin-pool, snapshot, ... */
  segtype: string;
  uuid: string;
  tags: string[];
  /** The thin pool of a thin volume. */
  pool?: string;
  /** The origin of a snapshot. */
  origin?: string;
  dataPercent?: number;
  metadataPercent?: number;
  stripes: number;
  active: boolean;
  open: boolean;
  /** A copy-on-write snapshot that ran out of room (lv_attr's fifth character is `I`). */
  invalid: boolean;
  created: string;
}

/** Fields of the PV report, in order. */
export const PV_FIELDS = ['pv_name', 'vg_name', 'pv_size', 'pv_free'];
/** Fields of the VG report. */
export const VG_FIELDS = ['vg_name', 'vg_attr', 'vg_size', 'vg_free', 'vg_extent_size', 'vg_tags'];
/** Fields of the LV report. */
export const LV_FIELDS = [
  'lv_name', 'vg_name', 'lv_path', 'lv_size', 'lv_attr', 'segtype', 'lv_uuid', 'lv_tags', 'pool_lv', 'origin',
  'data_percent', 'metadata_percent', 'stripes', 'lv_active', 'lv_device_open', 'lv_time',
];

/**
 * The rows of one report (`pv`, `vg` or `lv`) of LVM's JSON output, every field a string. Sample
 * (`lvs --reportformat json`, LVM 2.03): `{"report": [{"lv": [{"lv_name":"web1", "lv_size":"134217728",
 * "pool_lv":"thinpool", "data_percent":"3.12", ...}]}]}`; an empty field is `""`.
 */
function reportRows(json: string, kind: 'pv' | 'vg' | 'lv', fields: readonly string[]): { row: Record<string, string>; num: (key: string) => number }[] {
  const out = outputOf('lvm', json);
  const reports = out.array(out.object(out.json(), 'the report').report, 'report');
  return reports.flatMap((r) => {
    const entry = out.object(r, 'a report');
    const rows = entry[kind] === undefined ? [] : out.array(entry[kind], kind);
    return rows.map((x) => {
      const o: JsonObject = out.object(x, `a ${kind} row`);
      const row = Object.fromEntries(fields.map((f) => [f, out.string(o, f)]));
      return { row, num: (key: string) => out.decimal(row[key]!, key) };
    });
  });
}

const tagList = (s: string) => s.split(',').filter((t) => t !== '');

/** Parses the PV report of `pvsArgs`. */
export function parsePvs(json: string): PvInfo[] {
  return reportRows(json, 'pv', PV_FIELDS).map(({ row, num }) => ({ name: row['pv_name']!, vg: row['vg_name']!, size: num('pv_size'), free: num('pv_free') }));
}

/** Parses a report of `lv_name,lock_args` for one LV of a shared VG: the byte offset of its lease (lock_args `1.0.0:OFFSET`), if it has one. */
export function parseLockOffset(json: string): number | undefined {
  const args = reportRows(json, 'lv', ['lv_name', 'lv_lockargs'])[0]?.row['lv_lockargs'];
  const offset = args === undefined ? undefined : /^[^:]*:(\d+)$/.exec(args)?.[1];
  return offset === undefined ? undefined : Number(offset);
}

/** Parses the VG report of `vgsArgs`. */
export function parseVgs(json: string): VgInfo[] {
  return reportRows(json, 'vg', VG_FIELDS).map(({ row, num }) => ({
    name: row['vg_name']!,
    size: num('vg_size'),
    free: num('vg_free'),
    extentSize: num('vg_extent_size'),
    tags: tagList(row['vg_tags']!),
    partial: row['vg_attr']![3] === 'p',
    // The sixth letter: `s` for a VG shared through lvmlockd (`c` for clvmd's clustered VGs).
    shared: row['vg_attr']![5] === 's',
  }));
}

/**
 * Parses the LV report of `lvsArgs`. A thin pool has no `lv_path` (it is not a device of its own);
 * thin volumes report `stripes` 0; an inactive LV's `lv_device_open` is `unknown`.
 */
export function parseLvs(json: string): LvInfo[] {
  return reportRows(json, 'lv', LV_FIELDS).map(({ row, num }) => {
    const r = (k: string) => row[k]!;
    const lv: LvInfo = {
      name: r('lv_name'),
      vg: r('vg_name'),
      path: r('lv_path') || `/dev/${r('vg_name')}/${r('lv_name')}`,
      size: num('lv_size'),
      segtype: r('segtype'),
      uuid: r('lv_uuid'),
      tags: tagList(r('lv_tags')),
      stripes: num('stripes'),
      active: r('lv_active') === 'active',
      open: r('lv_device_open') === 'open',
      invalid: r('lv_attr')[4] === 'I',
      created: r('lv_time'),
    };
    if (r('pool_lv')) lv.pool = r('pool_lv');
    if (r('origin')) lv.origin = r('origin');
    if (r('data_percent')) lv.dataPercent = num('data_percent');
    if (r('metadata_percent')) lv.metadataPercent = num('metadata_percent');
    return lv;
  });
}

/** The last percentage in `pvmove` output (`  /dev/sdb: Moved: 25.00%`), or undefined. */
export function parsePvmoveProgress(output: string): number | undefined {
  const last = [...output.matchAll(/Moved:\s*(\d+(?:\.\d+)?)%/g)].at(-1);
  return last ? Number(last[1]) : undefined;
}

