import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseVolumeRef } from '../../model/names.js';
import { parseSize } from '../../model/sizes.js';
import { errors, KvmpoolError } from '../../model/errors.js';
import type { JobInfo } from '../../model/job-types.js';
import { localExtents, readSparse } from '../../transfer/sparse-reader.js';
import { FileWriter } from '../../transfer/file-writer.js';
import { framesToFile } from '../../transfer/to-file.js';
import { hostFileError } from '../../transfer/host-file.js';
import type { UploadReply } from '../../client/client.js';
import type { FileDownload } from '../../model/volume-types.js';
import { connect, type GlobalOptions } from '../connect.js';
import { printJson } from '../output.js';
import { byteBar, followJob } from '../progress.js';

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

/** Where this process sees a file, for the daemon to compare with what it sees. */
function seenAs(info: { dev: number; ino: number }): { dev: string; ino: string } {
  return { dev: String(info.dev), ino: String(info.ino) };
}

/**
 * Starts a transfer in which the daemon reads or writes the file itself; undefined when it answers
 * FORBIDDEN (it sees another file system there, as in a container): the bytes are streamed then.
 */
async function handedOver(start: () => Promise<{ job: JobInfo }>): Promise<JobInfo | undefined> {
  try {
    return (await start()).job;
  } catch (e) {
    if (e instanceof KvmpoolError && e.code === 'FORBIDDEN') return undefined;
    throw e;
  }
}

/** How the bytes went: shared blocks (no sha256 unless verified, as nothing was read) or a copy's sha256. */
function how(out: { shared: boolean; sha256?: string }): string {
  const sum = out.sha256 !== undefined ? `, sha256 ${out.sha256}` : '';
  return out.shared ? `, shared with the file (no data copied${out.sha256 === undefined ? '; --verify reads both and compares' : ''})${sum}` : sum;
}

const STREAM_HELP = 'stream the bytes through the API even on the daemon\'s own host (where it otherwise reads or writes the file itself)';

/**
 * `vol upload` and `vol download`: volume bytes to and from local files, holes skipped, sha256 checked.
 * On the daemon's host (its unix socket) the daemon reads or writes the file itself, as a job; over
 * TCP (KVMPOOL_URL) or with --stream the bytes travel as a sparse stream.
 */
export function transferCommands(vol: Command, globals: () => GlobalOptions): void {
  vol
    .command('upload <pool/vol> <file>')
    .description("replace a volume's content with a local image (holes are not sent); --offset/--length write a range in place")
    .option('--offset <bytes>', 'start of the range (partial or resumed upload of a raw volume)')
    .option('--length <bytes>', 'length of the range (default: to the end of the file)')
    .option('--grow', 'grow the volume when the upload is larger')
    .option('--force', 'upload into a volume kvmpool did not create')
    .option('--verify', 'also hash the file as it is read; the written content is checked against it')
    .option('--stream', STREAM_HELP)
    .action(async (ref: string, file: string, o: { offset?: string; length?: string; grow?: boolean; force?: boolean; verify?: boolean; stream?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const info = await stat(file).catch(hostFileError(file));
      const offset = bytesOption(o.offset, 'offset');
      const length = bytesOption(o.length, 'length') ?? info.size - (offset ?? 0);
      if ((offset ?? 0) + length > info.size) throw errors.invalid(`the range ends past the end of ${file} (${info.size} bytes)`);
      const partial = offset !== undefined || o.length !== undefined;
      const client = connect(globals());
      const quiet = globals().json === true;
      const range = partial ? { offset: offset ?? 0, length } : {};
      const flags = { ...(o.grow ? { grow: true } : {}), ...(o.force ? { force: true } : {}) };
      let out: Omit<UploadReply, 'job'> & { job?: string };
      const body = { file: path.resolve(file), ...range, ...flags, ...(o.verify ? { verify: true } : {}), seen: seenAs(info) };
      const job = client.local && !o.stream && info.isFile() ? await handedOver(() => client.api.uploadVolumeFile({ params: { pool, volume }, body })) : undefined;
      if (job) {
        out = { ...((await followJob(client, job, quiet)).result as Omit<UploadReply, 'job'>), job: job.id };
      } else {
        const bar = byteBar(`upload ${pool}/${volume}`, length, quiet);
        try {
          const extents = await localExtents(file);
          const frames = readSparse(file, offset ?? 0, length, { ...(extents ? { extents } : {}), hash: o.verify === true, onProgress: (d) => bar.update(d) });
          out = await client.upload(pool, volume, frames, { ...(partial ? { offset: offset ?? 0 } : {}), ...flags });
        } finally {
          bar.stop();
        }
      }
      if (globals().json) return printJson(out);
      process.stdout.write(`uploaded ${file} to ${pool}/${volume}: ${out.dataBytes} bytes of data${how(out)}\n`);
    });

  vol
    .command('download <pool/vol> <file>')
    .description("write a volume's bytes to a local file (holes are not sent); --sparse keeps them as holes")
    .option('--sparse', 'leave holes in the local file instead of writing zeros')
    .option('--offset <bytes>', 'start of the range (partial or resumed download)')
    .option('--length <bytes>', 'length of the range')
    .option('--verify', "also hash what is written and check it against the volume's sha256")
    .option('--stream', STREAM_HELP)
    .action(async (ref: string, file: string, o: { sparse?: boolean; offset?: string; length?: string; verify?: boolean; stream?: boolean }) => {
      const { pool, volume } = parseVolumeRef(ref);
      const offset = bytesOption(o.offset, 'offset');
      const length = bytesOption(o.length, 'length');
      const partial = offset !== undefined || length !== undefined;
      const range = { ...(offset !== undefined ? { offset } : {}), ...(length !== undefined ? { length } : {}) };
      // The local target is checked before the daemon starts.
      await FileWriter.checkTarget(file, !partial).catch(hostFileError(file));
      const client = connect(globals());
      const quiet = globals().json === true;
      let out: Omit<FileDownload, 'file'>;
      const target = path.resolve(file);
      const body = { file: target, ...range, sparse: o.sparse === true, verify: o.verify === true, seen: seenAs(await stat(path.dirname(target)).catch(hostFileError(path.dirname(target)))) };
      const job = client.local && !o.stream ? await handedOver(() => client.api.downloadVolumeFile({ params: { pool, volume }, body })) : undefined;
      if (job) {
        out = (await followJob(client, job, quiet)).result as FileDownload;
      } else {
        const dl = await client.download(pool, volume, range);
        const bar = byteBar(`download ${pool}/${volume}`, dl.length, quiet);
        try {
          const w = await framesToFile(file, dl.frames, { start: dl.offset, partial, sparse: o.sparse === true, verify: o.verify === true, onProgress: (d) => bar.update(d) });
          out = { volume: `${pool}/${volume}`, offset: dl.offset, length: dl.length, format: dl.format, sha256: w.sent!, verified: w.sha256 !== undefined, dataBytes: w.dataBytes, shared: false };
        } finally {
          bar.stop();
        }
      }
      if (globals().json) return printJson({ ...out, file });
      process.stdout.write(`downloaded ${pool}/${volume} (${out.format}) to ${file}: ${out.dataBytes} bytes of data${how(out)}${out.verified ? ' (verified)' : ''}\n`);
    });
}
