/** Journal kind of a volume being made (by create, clone or copy): its partial volume is discarded after a crash. */
export const JOURNAL_CREATE = 'volume.create';
/** Journal kind of a rename (link under the new name, then unlink the old): completed after a crash. */
export const JOURNAL_RENAME = 'volume.rename';
/** Journal kind of a pool start: a crash before the pool is recorded as running leaves what the start made to be forgotten. */
export const JOURNAL_POOL_START = 'pool.start';
