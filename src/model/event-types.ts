/** An event for subscribers (SSE clients, metrics, logs). `subject` is a kvmpool name: POOL, POOL/VOLUME, a job id. */
export interface KvmpoolEvent {
  type: string;
  subject: string;
  time: string;
  data?: unknown;
}
