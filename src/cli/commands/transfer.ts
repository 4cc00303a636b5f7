import type { Command } from 'commander';
import { open, stat } from 'node:fs/promises';
import { parseVolumeRef } from '../../model/names.js';
import { parseSize } from '../../model/sizes.js';
import { errors, KvmpoolError } from '../../model/errors.js';
import { localExtents, readSparse } from '../../transfer/sparse-reader.js';
import { writeSparse } from '../../transfer/sparse-writer.js';
import { FileWriter } from '../../transfer/file-writer.js';
import { allocateHoles } from '../../transfer/allocate-holes.js';
import { connect, type GlobalOptions } from '../connect.js';
import { printJson } from '../output.js';
import { byteBar } from '../progress.js';

/** An optional byte count option (`--offset 1G`). */
function bytesOption(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === '0') return 0;
  try {
    return parseSize(value);
  } catch {
    throw errors.invalid(`invalid ${what} '${value}'`);
  }
}

/** A local file that cannot be used, as a clear error (a missing file is NOT_FOUND). */
function localFileError(file: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof KvmpoolError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KvmpoolError('NOT_FOUND', `${file}: no such file or directory`, { file });
    if (typeof code === 'string' && code.startsWith('E')) throw new KvmpoolError('INVALID_ARGUMENT', `${file}: ${(e as Error).message}`, { file, errno: code });
    throw e;
  };
}

/** `vol upload` and `vol download`: volume bytes to and from local files, holes skipped, sha256 checked. */
export function transferCommands(vol: Command, globals: () => GlobalOptions): void {
  vol
    .command('upload <pool/vol> <file>')
    .description("replace a volume's content with a local image (holes are not sent); --offset/--length write a range in place")
    .option('--offset <bytes>', 'start of the range (partial or resumed upload of a raw volume)')
    .option('--length <bytes>', 'length of the range (default: to the end of the file)')
    .option('--grow', 'grow the volume when the upload is larger')
    .option('--force', 'upload into a volume kvmpool did not create')
    .option('--verify', 'also hash the file here; the daemon checks its sha256 against it')
    .action(async (ref: string, file: string, o: { offset?: string; length?: string; grow?: boolean; force?: boolean; verify?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const size = (await stat(file).catch(localFileError(file))).size;
      const offset = bytesOption(o.offset, 'offset');
      const length = bytesOption(o.length, 'length') ?? size - (offset ?? 0);
      if ((offset ?? 0) + length > size) throw errors.invalid(`the range ends past the end of ${file} (${size} bytes)`);
      const partial = offset !== undefined || o.length !== undefined;
      const bar = byteBar(`upload ${pool}/${volume}`, length, globals().json === true);
      try {
        const extents = await localExtents(file);
        const frames = readSparse(file, offset ?? 0, length, { ...(extents ? { extents } : {}), hash: o.verify === true, onProgress: (d) => bar.update(d) });
        const out = await connect(globals()).upload(pool, volume, frames, { ...(partial ? { offset: offset ?? 0 } : {}), ...(o.grow ? { grow: true } : {}), ...(o.force ? { force: true } : {}) });
        bar.stop();
        if (globals().json) return printJson(out);
        process.stdout.write(`uploaded ${file} to ${pool}/${volume}: ${out.dataBytes} bytes of data, sha256 ${out.sha256}\n`);
      } finally {
        bar.stop();
      }
    });

  vol
    .command('download <pool/vol> <file>')
    .description("write a volume's bytes to a local file (holes are not sent); --sparse keeps them as holes")
    .option('--sparse', 'leave holes in the local file instead of writing zeros')
    .option('--offset <bytes>', 'start of the range (partial or resumed download)')
    .option('--length <bytes>', 'length of the range')
    .option("--verify", "also hash what arrives here and check it against the daemon's sha256")
    .action(async (ref: string, file: string, o: { sparse?: boolean; offset?: string; length?: string; verify?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const offset = bytesOption(o.offset, 'offset');
      const length = bytesOption(o.length, 'length');
      const partial = offset !== undefined || length !== undefined;
      // The local target is checked before the daemon starts streaming.
      await FileWriter.checkTarget(file, !partial).catch(localFileError(file));
      const dl = await connect(globals()).download(pool, volume, { ...(offset !== undefined ? { offset } : {}), ...(length !== undefined ? { length } : {}) });
      const bar = byteBar(`download ${pool}/${volume}`, dl.length, globals().json === true);
      // A range goes into the file at its own offsets, so a resumed download completes the same file.
      if (partial) await (await open(file, 'a', 0o600).catch(localFileError(file))).close();
      const writer = await FileWriter.open(file, !partial, { regularFile: true }).catch(localFileError(file));
      try {
        // A range may land on old content, whose holes must become zeros; a new file's holes are left
        // as they are, and allocated afterwards unless --sparse.
        const written = await writeSparse(writer, dl.frames, { start: dl.offset, holes: partial ? 'zero' : 'skip', recordHoles: !partial && !o.sparse, hash: o.verify === true, onProgress: (d) => bar.update(d) });
        await writer.sync();
        // A new file ends where the content ends; a range may end inside a longer file.
        const size = (await writer.fh.stat()).size;
        const end = partial ? Math.max(size, written.end) : written.end;
        if (size < end) await writer.fh.truncate(end);
        // Without --sparse the whole file ends up allocated, also the holes an earlier, cut-off
        // download of it left before this range.
        if (!o.sparse && (partial || written.holes.length > 0)) await allocateHoles(writer, file, end, written.holes);
        bar.stop();
        const out = { volume: `${pool}/${volume}`, file, offset: dl.offset, length: dl.length, format: dl.format, sha256: written.sent, verified: written.sha256 !== undefined, dataBytes: written.dataBytes };
        if (globals().json) return printJson(out);
        process.stdout.write(`downloaded ${pool}/${volume} (${dl.format}) to ${file}: ${written.dataBytes} bytes of data, sha256 ${written.sent}${out.verified ? ' (verified)' : ''}\n`);
      } finally {
        bar.stop();
        await writer.close();
      }
    });
}
