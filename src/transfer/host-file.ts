import { KvmpoolError } from '../model/errors.js';

/**
 * Maps a failure on a file the user named (not a volume) to a clear error: a missing file is
 * NOT_FOUND, any other refusal of the system (EACCES, EISDIR, ...) INVALID_ARGUMENT naming the file.
 */
export function hostFileError(file: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof KvmpoolError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KvmpoolError('NOT_FOUND', `${file}: no such file or directory`, { file });
    if (typeof code === 'string' && code.startsWith('E')) throw new KvmpoolError('INVALID_ARGUMENT', `${file}: ${(e as Error).message}`, { file, errno: code });
    throw e;
  };
}
