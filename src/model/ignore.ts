/**
 * Named ways to let a failure go, so that none is dropped without saying why (the lint refuses a bare
 * `.catch(() => undefined)`; an undo's failure goes through the Reverter, which logs it).
 */

/** A probe whose failure means "not there": a file that may be missing, a table a disk may not have. */
export const absent = (): undefined => undefined;

/** A promise whose failure its owner observes elsewhere (a job's outcome, the next turn of a chain): not left unhandled here. */
export const observedElsewhere = (): undefined => undefined;

/** A probe whose failure has a value of its own: a process gone meanwhile reads as '', a path not there as itself. */
export const fallback =
  <T>(value: T) =>
  (): T =>
    value;
