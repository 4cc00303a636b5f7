/** Job states. */
export const JOB_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A long operation, as the API returns it. */
export interface JobInfo {
  id: string;
  kind: string;
  target: string;
  state: JobState;
  progress: { done: number; total: number };
  created: string;
  finished?: string;
  error?: { code: string; message: string; details?: Record<string, unknown> };
  result?: unknown;
}
