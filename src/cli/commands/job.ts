import type { Command } from 'commander';
import type { JobBody } from '../../api/schemas.js';
import { connect, type GlobalOptions } from '../connect.js';
import { formatSize, printFields, printJson, printTable } from '../output.js';

/** `kvmpool job ...` */
export function jobCommands(program: Command, globals: () => GlobalOptions): void {
  const job = program.command('job').description('long operations: list, show, cancel');

  job
    .command('list')
    .description('list recent jobs')
    .action(async () => {
      const jobs = await connect(globals()).api.listJobs();
      if (globals().json) return printJson(jobs);
      printTable(['ID', 'KIND', 'TARGET', 'STATE', 'PROGRESS', 'CREATED'], jobs.map((j) => [j.id, j.kind, j.target, j.state, progress(j), j.created]));
    });

  job
    .command('show <id>')
    .description('show a job')
    .action(async (id: string) => show(globals(), await connect(globals()).api.getJob({ params: { id } })));

  job
    .command('cancel <id>')
    .description('cancel a running job')
    .action(async (id: string) => show(globals(), await connect(globals()).api.cancelJob({ params: { id } })));
}

function progress(j: JobBody): string {
  if (j.progress.total <= 0) return '-';
  return `${Math.floor((100 * j.progress.done) / j.progress.total)}% of ${formatSize(j.progress.total)}`;
}

function show(g: GlobalOptions, j: JobBody): void {
  if (g.json) return printJson(j);
  printFields([
    ['id', j.id],
    ['kind', j.kind],
    ['target', j.target],
    ['state', j.state],
    ['progress', progress(j)],
    ['created', j.created],
    ['finished', j.finished],
    ['error', j.error && `${j.error.code}: ${j.error.message}`],
  ]);
}
