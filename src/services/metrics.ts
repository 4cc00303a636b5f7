import client from 'prom-client';
import { toKvmpoolError } from '../model/errors.js';

/** Prometheus metrics of one daemon: operation counts and durations, pool usage gauges. */
export class Metrics {
  readonly registry = new client.Registry();
  private readonly operations = new client.Counter({
    name: 'kvmpool_operations_total',
    help: 'Operations run, by operation and result code',
    labelNames: ['operation', 'result'],
    registers: [this.registry],
  });
  private readonly durations = new client.Histogram({
    name: 'kvmpool_operation_duration_seconds',
    help: 'Duration of operations, by operation',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });

  /** Registers gauges whose values are read at scrape time. */
  poolGauges(read: () => Promise<{ name: string; capacity: number; allocation: number; available: number }[]>): void {
    const gauges = ['capacity', 'allocation', 'available'] as const;
    for (const g of gauges) {
      new client.Gauge({
        name: `kvmpool_pool_${g}_bytes`,
        help: `Pool ${g} in bytes`,
        labelNames: ['pool'],
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const p of await read()) this.set({ pool: p.name }, p[g]);
        },
      });
    }
  }

  /** Runs `fn`, counting it and timing it under `operation`. */
  async observe<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const end = this.durations.startTimer({ operation });
    try {
      const out = await fn();
      this.operations.inc({ operation, result: 'ok' });
      return out;
    } catch (e) {
      this.operations.inc({ operation, result: toKvmpoolError(e).code });
      throw e;
    } finally {
      end();
    }
  }
}
