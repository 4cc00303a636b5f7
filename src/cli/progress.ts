import cliProgress from 'cli-progress';
import type { KvmpoolClient } from '../client/client.js';
import { KvmpoolError, isErrorCode } from '../model/errors.js';
import type { JobInfo } from '../model/types.js';
import { formatSize } from '../model/sizes.js';

/**
 * Follows a job to its end, with a progress bar (bytes, rate, ETA) on a terminal unless `quiet`.
 * Ctrl-C cancels the job. Throws the job's error when it did not succeed.
 */
export async function followJob(client: KvmpoolClient, job: JobInfo, quiet: boolean): Promise<JobInfo> {
  const show = !quiet && process.stderr.isTTY === true;
  const bar = show
    ? new cliProgress.SingleBar(
        {
          format: `${job.kind} ${job.target} [{bar}] {percentage}% | {doneText} / {totalText} | {rateText}/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const started = Date.now();
  bar?.start(1, 0, { doneText: '0 B', totalText: '?', rateText: '0 B' });
  const onSigint = () => {
    void client.call('cancelJob', { params: { id: job.id } }).catch(() => undefined);
  };
  process.once('SIGINT', onSigint);
  try {
    const end = await client.waitJob(job.id, (done, total) => {
      if (!bar || total <= 0) return;
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar.setTotal(total);
      bar.update(done, { doneText: formatSize(done), totalText: formatSize(total), rateText: formatSize(Math.round(done / seconds)) });
    });
    if (bar && end.state === 'succeeded' && end.progress.total > 0) {
      // The last progress event may predate the end: show the finished state.
      const total = end.progress.total;
      bar.setTotal(total);
      bar.update(total, { doneText: formatSize(total), totalText: formatSize(total) });
    }
    bar?.stop();
    if (end.state !== 'succeeded') {
      const code = end.error && isErrorCode(end.error.code) ? end.error.code : 'INTERNAL';
      throw new KvmpoolError(code, `job ${end.id} ${end.state}: ${end.error?.message ?? 'no reason given'}`, end.error?.details ?? {});
    }
    return end;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
}
