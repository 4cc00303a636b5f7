/**
 * Collects undo steps of a multi-step change. Register each undo right after its step succeeds; on
 * failure call `revert()`, which runs them in reverse, best effort, and never hides the original error.
 */
export class Reverter {
  private readonly undos: { what: string; fn: () => Promise<void> | void }[] = [];

  constructor(private readonly log: (message: string) => void = () => {}) {}

  add(what: string, fn: () => Promise<void> | void): void {
    this.undos.push({ what, fn });
  }

  /** Forget the undos: the change is complete. */
  success(): void {
    this.undos.length = 0;
  }

  async revert(): Promise<void> {
    while (this.undos.length > 0) {
      const { what, fn } = this.undos.pop()!;
      try {
        await fn();
      } catch (e) {
        this.log(`revert: could not ${what}: ${e instanceof Error ? e.message : String(e)}`);
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
      await r.revert();
      throw e;
    }
  }
}
