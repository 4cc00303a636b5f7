/**
 * Collects undo steps of a multi-step change. Register each undo right after its step succeeds; on
 * failure call `revert(cause)`, which runs them in reverse, best effort, and never hides the original
 * error: an undo that fails is logged together with the error that made the change fail.
 */
export class Reverter {
  private readonly undos: { what: string; fn: () => Promise<unknown> | unknown }[] = [];

  constructor(private readonly log: (message: string) => void = () => {}) {}

  add(what: string, fn: () => Promise<unknown> | unknown): void {
    this.undos.push({ what, fn });
  }

  /** Forget the undos: the change is complete. */
  success(): void {
    this.undos.length = 0;
  }

  /** Runs the undos in reverse; `cause` is the error that made the change fail (named in the log). */
  async revert(cause?: unknown): Promise<void> {
    const after = cause === undefined ? '' : ` (after: ${messageOf(cause)})`;
    while (this.undos.length > 0) {
      const { what, fn } = this.undos.pop()!;
      try {
        await fn();
      } catch (e) {
        this.log(`revert: could not ${what}: ${messageOf(e)}${after}`);
      }
    }
  }

  /** Runs `body`; if it throws, reverts and rethrows the original error. */
  static async run<T>(log: (message: string) => void, body: (r: Reverter) => Promise<T>): Promise<T> {
    const r = new Reverter(log);
    try {
      const out = await body(r);
      r.success();
      return out;
    } catch (e) {
      await r.revert(e);
      throw e;
    }
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
