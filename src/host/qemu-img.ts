import { isLocal, type VolumeAccess } from '../model/access.js';
import { KvmpoolError } from '../model/errors.js';
import type { CreateFormat, Prealloc } from '../model/volume-types.js';
import { run, type ExecOptions } from './exec.js';
import { accessSecrets, dottedOptions, protocolNode, secretObjectArg } from './qemu-access.js';

/** What `createArgs` needs. */
export interface CreateSpec {
  path: string;
  format: CreateFormat;
  size: number;
  prealloc: Prealloc;
  /** qcow2 only: cluster size in bytes (power of two, 512 B .. 2 MiB). */
  clusterSize?: number;
  /** qcow2 only: defer refcount updates (faster writes, needs a check after a crash). */
  lazyRefcounts?: boolean;
}

/** argv for `qemu-img create`; qcow2 is always compat 1.1. */
export function createArgs(spec: CreateSpec): string[] {
  const opts = [`preallocation=${spec.prealloc}`];
  if (spec.format === 'qcow2') {
    opts.unshift('compat=1.1');
    if (spec.clusterSize !== undefined) opts.push(`cluster_size=${spec.clusterSize}`);
    if (spec.lazyRefcounts) opts.push('lazy_refcounts=on');
  }
  return ['create', '-q', '-f', spec.format, '-o', opts.join(','), spec.path, String(spec.size)];
}

/** argv for `qemu-img info` with an explicit format; `-U` so a file in use by a VM can still be read. */
export function infoArgs(path: string, format: string): string[] {
  return ['info', '--output=json', '-U', '-f', format, path];
}

/** argv for `qemu-img resize`; shrinking needs `--shrink`. */
export function resizeArgs(path: string, format: string, size: number, shrink: boolean): string[] {
  return ['resize', '-q', '-f', format, ...(shrink ? ['--shrink'] : []), path, String(size)];
}

/** argv for `qemu-img check` of a qcow2 image. */
export function checkArgs(path: string): string[] {
  return ['check', '--output=json', '-f', 'qcow2', path];
}

/** What `qemu-img info --output=json` says, validated. */
export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
  backingFilename?: string;
  fullBackingFilename?: string;
  /** The backing file's format as the image records it; absent means qemu would probe it. */
  backingFormat?: string;
  snapshots: number;
  dirty: boolean;
  /** qcow2 cluster size in bytes, where the format has one. */
  clusterSize?: number;
  /** A qcow2 external data file (`format-specific.data.data-file`): guest data lives in that file. */
  dataFile?: string;
}

/**
 * Parses `qemu-img info --output=json`. Sample (7.2):
 * `{"virtual-size": 1073741824, "filename": "a.qcow2", "cluster-size": 65536, "format": "qcow2",
 *   "actual-size": 200704, "format-specific": {...}, "backing-filename": "b.qcow2",
 *   "full-backing-filename": "/pool/b.qcow2", "snapshots": [...], "dirty-flag": false}`
 */
export function parseInfo(json: string): ImageInfo {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw malformed('not JSON', json, e);
  }
  if (typeof data !== 'object' || data === null) throw malformed('not an object', json);
  const d = data as Record<string, unknown>;
  const format = d['format'];
  const virtualSize = d['virtual-size'];
  if (typeof format !== 'string') throw malformed('no format', json);
  if (typeof virtualSize !== 'number') throw malformed('no virtual-size', json);
  const info: ImageInfo = {
    format,
    virtualSize,
    actualSize: typeof d['actual-size'] === 'number' ? d['actual-size'] : 0,
    snapshots: Array.isArray(d['snapshots']) ? d['snapshots'].length : 0,
    dirty: d['dirty-flag'] === true,
  };
  if (typeof d['cluster-size'] === 'number') info.clusterSize = d['cluster-size'];
  const specific = (d['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data;
  if (typeof specific?.['data-file'] === 'string') info.dataFile = specific['data-file'];
  if (typeof d['backing-filename'] === 'string') info.backingFilename = d['backing-filename'];
  if (typeof d['full-backing-filename'] === 'string') info.fullBackingFilename = d['full-backing-filename'];
  if (typeof d['backing-filename-format'] === 'string') info.backingFormat = d['backing-filename-format'];
  return info;
}

/** Result of `qemu-img check`: whether the image is consistent. */
export interface CheckResult {
  corruptions: number;
  leaks: number;
  checkErrors: number;
}

/** Parses `qemu-img check --output=json` (`{"check-errors": 0, "corruptions": 0, "leaks": 0, ...}`; zero counts may be omitted). */
export function parseCheck(json: string): CheckResult {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(json) as Record<string, unknown>;
  } catch (e) {
    throw malformed('not JSON', json, e);
  }
  const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : 0);
  return { corruptions: num('corruptions'), leaks: num('leaks'), checkErrors: num('check-errors') };
}

function malformed(why: string, output: string, cause?: unknown): KvmpoolError {
  return new KvmpoolError('HOST_COMMAND_FAILED', `qemu-img printed malformed output (${why})`, { output: output.slice(0, 500) }, { cause });
}

/** Creates an image. Preallocated images can take long: pass a generous timeout and a signal. */
export async function create(spec: CreateSpec, options?: ExecOptions): Promise<void> {
  await run('qemu-img', createArgs(spec), options);
}

/** Reads an image's facts without following its backing file. */
export async function info(path: string, format: string, options?: ExecOptions): Promise<ImageInfo> {
  const { stdout } = await run('qemu-img', infoArgs(path, format), { timeoutMs: 30_000, ...options });
  return parseInfo(stdout);
}

/** Reads the facts of an image qemu reaches by a protocol (an iSCSI LUN through libiscsi), its secrets from their files. */
export async function sourceInfo(source: ImageSource, options?: ExecOptions): Promise<ImageInfo> {
  const { options: opts, image } = sourceArgs(source);
  const { stdout } = await run('qemu-img', ['info', '--output=json', ...opts, image], { timeoutMs: 30_000, ...options });
  return parseInfo(stdout);
}

/** Resizes an image to `size` bytes. */
export async function resize(path: string, format: string, size: number, shrink: boolean, options?: ExecOptions): Promise<void> {
  await run('qemu-img', resizeArgs(path, format, size, shrink), { timeoutMs: 120_000, ...options });
}

/** Checks a qcow2 image; exit codes 2 (corruptions) and 3 (leaks) still print the report. */
export async function check(path: string, options?: ExecOptions): Promise<CheckResult> {
  try {
    const { stdout } = await run('qemu-img', checkArgs(path), { timeoutMs: 120_000, ...options });
    return parseCheck(stdout);
  } catch (e) {
    if (e instanceof KvmpoolError && e.code === 'HOST_COMMAND_FAILED') {
      const code = e.details['exitCode'];
      if (code === 2 || code === 3) return { corruptions: code === 2 ? 1 : 0, leaks: code === 3 ? 1 : 0, checkErrors: 0 };
    }
    throw e;
  }
}

/**
 * Turns qemu-img's known failures into codes services branch on: a full file system
 * (`No space left on device`), and a size beyond what the format or file system can hold
 * (`The image size is too large for file format 'qcow2'`, `File too large`).
 */
export function classify(err: unknown): unknown {
  if (!(err instanceof KvmpoolError) || err.code !== 'HOST_COMMAND_FAILED') return err;
  const stderr = String(err.details['stderr']);
  if (/No space left on device/i.test(stderr)) return new KvmpoolError('NO_SPACE', 'not enough space in the pool', { ...err.details }, { cause: err });
  if (/too large/i.test(stderr)) return new KvmpoolError('INVALID_ARGUMENT', 'the size is larger than the volume format or the file system allows', { ...err.details }, { cause: err });
  return err;
}

/** An image qemu-img reads: a volume's access and its format. */
export interface ImageSource {
  access: VolumeAccess;
  format: string;
}

/**
 * The arguments naming a source image: a local file or device with its format (`-f FMT PATH`), or a
 * protocol volume as image options with its secrets as objects read from their files.
 */
export function sourceArgs(source: ImageSource): { options: string[]; image: string } {
  if (isLocal(source.access)) return { options: ['-f', source.format], image: source.access.path };
  const objects = accessSecrets(source.access, 'src').flatMap((s) => ['--object', secretObjectArg(s)]);
  return { options: [...objects, '--image-opts'], image: dottedOptions({ driver: source.format, file: protocolNode(source.access, 'src') }).join(',') };
}

/** What `convertArgs` needs. */
export interface ConvertSpec {
  source: ImageSource;
  /** A local path, or a protocol volume (an RBD image) written in place. */
  target: string | VolumeAccess;
  targetFormat: CreateFormat;
  /** Write with O_DIRECT (cache=none) where the target file system allows it. */
  direct: boolean;
  /** qcow2 target: cluster size. */
  clusterSize?: number;
  /** The target exists (a block device, an image) and is written in place; `targetIsZero` when it reads as zeros (a new thin LV). */
  existing?: boolean;
  targetIsZero?: boolean;
}

/** The target of a copy: a path with its format, or a protocol volume as --target-image-opts (it must exist). */
function targetArgs(spec: ConvertSpec): { options: string[]; image: string } {
  const t = spec.target;
  if (typeof t === 'string' || isLocal(t)) return { options: ['-O', spec.targetFormat], image: typeof t === 'string' ? t : t.path };
  const objects = accessSecrets(t, 'dst').flatMap((s) => ['--object', secretObjectArg(s)]);
  return { options: [...objects, '--target-image-opts'], image: dottedOptions({ driver: spec.targetFormat, file: protocolNode(t, 'dst') }).join(',') };
}

/**
 * argv for a sparse-preserving copy: zero runs in the source stay holes in the target. `-W` lets
 * writes complete out of order and `-m 16` keeps 16 requests in flight; `-p` prints progress.
 */
export function convertArgs(spec: ConvertSpec): string[] {
  const opts = spec.targetFormat === 'qcow2' && !spec.existing ? ['-o', ['compat=1.1', ...(spec.clusterSize ? [`cluster_size=${spec.clusterSize}`] : [])].join(',')] : [];
  const inPlace = spec.existing ? ['-n', ...(spec.targetIsZero ? ['--target-is-zero'] : [])] : [];
  const source = sourceArgs(spec.source);
  const target = targetArgs(spec);
  return ['convert', '-p', '-W', '-m', '16', ...inPlace, ...(spec.direct ? ['-t', 'none'] : []), ...source.options, ...target.options, ...opts, source.image, target.image];
}

/** The last percentage in `qemu-img convert -p` output (`    (12.34/100%)\r`), or undefined. */
export function parseProgress(output: string): number | undefined {
  const all = [...output.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
  const last = all.at(-1);
  return last ? Number(last[1]) : undefined;
}

/** argv for a qcow2 overlay whose backing file is `backing` (a name relative to the overlay's directory). */
export function overlayArgs(target: string, backing: string, backingFormat: string, size: number): string[] {
  return ['create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', '-F', backingFormat, '-b', backing, target, String(size)];
}

/** Internal snapshot verbs of qcow2: create (-c), apply/revert (-a), delete (-d). */
export type SnapshotVerb = 'create' | 'revert' | 'delete';

/**
 * `--image-opts` spelling of an image with an explicit format, for subcommands without `-f`
 * (`qemu-img snapshot` in 7.2 has none and would probe). Commas in the path are doubled.
 */
export function imageOpts(path: string, format: string): string {
  return `driver=${format},file.driver=file,file.filename=${path.replace(/,/g, ',,')}`;
}

/** argv for `qemu-img snapshot` on a qcow2 image (format given through --image-opts, never probed). */
export function snapshotArgs(verb: SnapshotVerb, path: string, name: string): string[] {
  const flag = { create: '-c', revert: '-a', delete: '-d' }[verb];
  return ['snapshot', '-q', '--image-opts', flag, name, imageOpts(path, 'qcow2')];
}

/** Copies `spec.source` to `spec.target` (which must not exist unless `existing`), reporting the percentage done. */
export async function convert(spec: ConvertSpec, onPercent: (percent: number) => void, options?: ExecOptions): Promise<void> {
  await run('qemu-img', convertArgs(spec), {
    timeoutMs: 24 * 3600_000,
    ...options,
    onStdout: (chunk) => {
      const p = parseProgress(chunk);
      if (p !== undefined) onPercent(p);
    },
  }).catch((e: unknown) => {
    throw classify(e);
  });
}

/** Creates a qcow2 overlay on a backing file. */
export async function createOverlay(target: string, backing: string, backingFormat: string, size: number, options?: ExecOptions): Promise<void> {
  await run('qemu-img', overlayArgs(target, backing, backingFormat, size), options);
}

/** Creates, reverts to or deletes an internal snapshot of a qcow2 image. */
export async function snapshot(verb: SnapshotVerb, path: string, name: string, options?: ExecOptions): Promise<void> {
  await run('qemu-img', snapshotArgs(verb, path, name), { timeoutMs: 600_000, ...options });
}

/** One extent of `qemu-img map --output=json`. */
export interface MapExtent {
  start: number;
  length: number;
  /** False for holes and for ranges that read as zeros without being stored. */
  data: boolean;
  zero: boolean;
}

/** argv for `qemu-img map` (extents found with SEEK_DATA/SEEK_HOLE for files). */
export function mapArgs(path: string, format: string): string[] {
  return ['map', '--output=json', '-f', format, path];
}

/** Parses `qemu-img map --output=json`: `[{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "offset": 0 }, ...]`. */
export function parseMap(json: string): MapExtent[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw malformed('not JSON', json, e);
  }
  if (!Array.isArray(data)) throw malformed('not an array', json);
  return data.map((x: unknown) => {
    const e = x as Record<string, unknown>;
    if (typeof e['start'] !== 'number' || typeof e['length'] !== 'number' || typeof e['data'] !== 'boolean') throw malformed('bad extent', json);
    return { start: e['start'], length: e['length'], data: e['data'], zero: e['zero'] === true };
  });
}

/** The extents of an image (as `format`), data and holes. */
export async function map(path: string, format: string, options?: ExecOptions): Promise<MapExtent[]> {
  const { stdout } = await run('qemu-img', mapArgs(path, format), { timeoutMs: 120_000, ...options });
  return parseMap(stdout);
}
