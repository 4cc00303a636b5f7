import cliProgress from 'cli-progress';
import type { KvmpoolClient } from '../client/client.js';
import { KvmpoolError, isErrorCode } from '../model/errors.js';
import type { JobInfo } from '../model/job-types.js';
import { formatSize } from '../model/sizes.js';

/** A progress bar of bytes (done / total, rate, ETA) on stderr; a no-op unless stderr is a terminal and not `quiet`. */
export interface ByteBar {
  update(done: number, total?: number): void;
  stop(): void;
}

export function byteBar(label: string, total: number, quiet: boolean): ByteBar {
  if (quiet || process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {doneText} / {totalText} | {rateText}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let last = Math.max(total, 1);
  bar.start(last, 0, { doneText: '0 B', totalText: total > 0 ? formatSize(total) : '?', rateText: '0 B' });
  let stopped = false;
  return {
    update(done, newTotal) {
      if (newTotal !== undefined && newTotal > 0) last = newTotal;
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar.setTotal(last);
      bar.update(Math.min(done, last), { doneText: formatSize(done), totalText: formatSize(last), rateText: formatSize(Math.round(done / seconds)) });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/**
 * Follows a job to its end, with a progress bar on a terminal unless `quiet`. Ctrl-C cancels the
 * job. Throws the job's error when it did not succeed.
 */
export async function followJob(client: KvmpoolClient, job: JobInfo, quiet: boolean): Promise<JobInfo> {
  const bar = byteBar(`${job.kind} ${job.target}`, 0, quiet);
  const onSigint = () => {
    void client.api.cancelJob({ params: { id: job.id } }).catch((e: unknown) => process.stderr.write(`kvmpool: could not cancel job ${job.id}: ${e instanceof Error ? e.message : String(e)}\n`));
  };
  process.once('SIGINT', onSigint);
  try {
    const end = await client.waitJob(job.id, (done, total) => {
      if (total > 0) bar.update(done, total);
    });
    // The last progress event may predate the end: show the finished state.
    if (end.state === 'succeeded' && end.progress.total > 0) bar.update(end.progress.total, end.progress.total);
    bar.stop();
    if (end.state !== 'succeeded') {
      const code = end.error && isErrorCode(end.error.code) ? end.error.code : 'INTERNAL';
      throw new KvmpoolError(code, `job ${end.id} ${end.state}: ${end.error?.message ?? 'no reason given'}`, end.error?.details ?? {});
    }
    return end;
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
}
