import path from 'node:path';
import { errors } from './errors.js';

/** System directories a pool target may never be in (or be). */
export const FORBIDDEN_TARGET_ROOTS = ['/proc', '/sys', '/dev', '/etc', '/usr', '/boot', '/bin', '/sbin', '/lib', '/lib64', '/run'] as const;

/** Validates a pool target path (absolute, not `/`, not inside a system directory); returns it normalized. */
export function checkTargetPath(target: unknown): string {
  if (typeof target !== 'string' || target.length === 0) throw errors.invalid('a target path is required');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(target)) throw errors.invalid('target path contains control characters', { target });
  if (!path.isAbsolute(target)) throw errors.invalid(`target '${target}' must be an absolute path`, { target });
  const normal = path.resolve(target);
  if (normal === '/') throw errors.invalid("target '/' is not allowed", { target });
  const root = FORBIDDEN_TARGET_ROOTS.find((r) => isInside(normal, r));
  if (root) throw errors.invalid(`target '${target}' is inside the system directory ${root}`, { target, root });
  return normal;
}

/** True when `child` is `parent` or lies below it (both normalized absolute paths). */
export function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

/** A block device path: absolute, normalized, under /dev. */
export function checkDevicePath(device: unknown): string {
  if (typeof device !== 'string' || device.length === 0) throw errors.invalid('a device path is required');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f,]/.test(device)) throw errors.invalid(`device path '${device}' contains control characters or commas`, { device });
  const normal = path.resolve('/', device);
  if (normal !== device || !isInside(normal, '/dev') || normal === '/dev') throw errors.invalid(`device '${device}' must be a normalized path under /dev`, { device });
  return normal;
}
