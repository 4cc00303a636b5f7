import { errors } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import { parseSize, roundUp } from '../../model/sizes.js';
import { CREATE_FORMATS, PREALLOC_MODES, type CreateFormat, type Prealloc } from '../../model/volume-types.js';
import type { AnyStorageType, VolumeSpec } from '../../drivers/storage/driver.js';
import { checkSettings } from './pool-definitions.js';

/** What `create` accepts (sizes as bytes or strings like `10G`); other fields are the pool type's volume options. */
export interface CreateVolumeInput {
  name: string;
  capacity: number | string;
  format?: string;
  prealloc?: string;
  clusterSize?: number | string;
  lazyRefcounts?: boolean;
  [option: string]: unknown;
}

const COMMON = new Set(['name', 'capacity', 'format', 'prealloc', 'clusterSize', 'lazyRefcounts']);

/** Checks a create request against the pool's type: formats it makes, sizes, and its volume options. */
export function createSpec(type: AnyStorageType, input: CreateVolumeInput): VolumeSpec {
  const name = validateName('volume', input.name);
  const formats = type.driver.volumes?.formats ?? [];
  const format = (input.format ?? 'raw') as CreateFormat;
  if (formats.length === 0) throw errors.notSupported(`pools of type ${type.name} do not create volumes`);
  if (!(CREATE_FORMATS as readonly string[]).includes(format) || !formats.includes(format)) {
    throw errors.invalid(`unknown volume format '${input.format}': expected ${formats.join(' or ')}`, { format: input.format });
  }
  const prealloc = (input.prealloc ?? 'off') as Prealloc;
  if (!(PREALLOC_MODES as readonly string[]).includes(prealloc)) throw errors.invalid(`unknown preallocation '${input.prealloc}': expected ${PREALLOC_MODES.join(', ')}`);
  if (prealloc === 'metadata' && format !== 'qcow2') throw errors.invalid("preallocation 'metadata' needs format qcow2");
  const options = Object.fromEntries(Object.entries(input).filter(([k, v]) => !COMMON.has(k) && v !== undefined));
  const known = Object.keys(type.volumeOptions.properties as object);
  const foreign = Object.keys(options).filter((k) => !known.includes(k));
  if (foreign.length > 0) {
    throw errors.invalid(`${foreign.join(', ')}: not an option of ${type.name} volumes${known.length > 0 ? ` (those are ${known.join(', ')})` : ''}`, { options: foreign });
  }
  checkSettings(type.volumeOptions, options, `options of a ${type.name} volume`);
  const spec: VolumeSpec = { name, format, capacity: roundUp(parseSize(input.capacity)), prealloc, options };
  if ((input.clusterSize !== undefined || input.lazyRefcounts !== undefined) && format !== 'qcow2') {
    throw errors.invalid('cluster size and lazy refcounts apply to qcow2 only');
  }
  if (input.clusterSize !== undefined) {
    const c = parseSize(input.clusterSize);
    if (c < 512 || c > 2 * 1024 * 1024 || (c & (c - 1)) !== 0) throw errors.invalid(`invalid cluster size ${input.clusterSize}: a power of two from 512 to 2M`);
    spec.clusterSize = c;
  }
  if (input.lazyRefcounts !== undefined) spec.lazyRefcounts = input.lazyRefcounts;
  return spec;
}
