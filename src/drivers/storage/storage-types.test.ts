import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { format } from '../../model/capabilities.js';
import type { AnyStorageType } from './driver.js';
import { PLANNED_TYPES, STORAGE_TYPES } from './registry.js';
import { STANDARD_WITHHELD } from './standard-states.js';
import { checkStorageType, StorageTypes } from './storage-types.js';
import dir from './dir/index.js';

/** The dir type with some part replaced. */
const variant = (patch: Partial<AnyStorageType>): AnyStorageType => ({ ...(dir as AnyStorageType), ...patch });

test("this build's types hold together, and the registry tells unknown from planned types", () => {
  const types = new StorageTypes(STORAGE_TYPES, [...PLANNED_TYPES, 'zfs']);
  assert.deepEqual(types.names(), ['dir', 'fs', 'logical', 'disk', 'netfs', 'iscsi', 'scsi', 'rbd']);
  assert.throws(() => types.get('nfs4'), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => types.get('zfs'), { code: 'NOT_SUPPORTED' });
  assert.throws(() => new StorageTypes([dir, dir]), /registered twice/);
});

test('a type whose table and verbs disagree never loads', () => {
  const { wipe: _w, ...noWipe } = dir.driver;
  assert.throws(() => checkStorageType(variant({ driver: noWipe })), /wipe is listed but the driver has no wipe/);
  const { clones: _c, ...noClones } = dir.driver;
  assert.throws(() => checkStorageType(variant({ driver: noClones })), /clone-linked is listed but the driver has no clones/);
  const { copy: _p, ...noCopy } = dir.driver;
  assert.throws(() => checkStorageType(variant({ driver: noCopy })), /clone is listed but the driver has no copy/);
  // A verb no feature offers is as wrong as a feature without its verb.
  assert.throws(() => checkStorageType(variant({ capabilities: { formats: { raw: format(['delete', 'clone', 'clone-linked', 'clone-reflink'], STANDARD_WITHHELD) } } })), /has resize but no feature offers it/);
});

test('a type must withhold at least what keeps VMs and linked clones safe, and name its secrets plainly', () => {
  const lax = { ...STANDARD_WITHHELD, attached: [] };
  assert.throws(
    () => checkStorageType(variant({ capabilities: { ...dir.capabilities, formats: { ...dir.capabilities.formats, raw: format(dir.capabilities.formats['raw']!.features, lax) } } })),
    /raw volumes in state attached must withhold delete, rename/,
  );
  const settings = Type.Object({ 'pass/word': Type.String() });
  assert.throws(() => checkStorageType(variant({ source: settings, secrets: ['pass/word'] })), /must be a plain name/);
  assert.throws(() => checkStorageType(variant({ secrets: ['missing'] })), /secret missing is not a field/);
});
