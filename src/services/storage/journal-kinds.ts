/** Journal kind of a volume being made (by create, clone or copy): its partial volume is discarded after a crash. */
export const JOURNAL_CREATE = 'volume.create';
/** Journal kind of a rename (link under the new name, then unlink the old): completed after a crash. */
export const JOURNAL_RENAME = 'volume.rename';
