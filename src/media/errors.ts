/**
 * The kinds of failure a mediaProccess plug-in can throw, so the runner can tell "try again
 * at this instant" from "the account must be reconnected" from "this video will never upload".
 * Anything else a plug-in throws is a transient failure, retried by the retry policy.
 *
 * Each carries a stable `kind`: an upload runs in a worker thread, and what crosses back is a
 * structured clone in which the class is lost; `failureKind` recognises either form.
 */
export type FailureKind = "retry-later" | "needs-reconnect" | "permanent";

const KINDS: ReadonlySet<string> = new Set<FailureKind>(["retry-later", "needs-reconnect", "permanent"]);

/** The platform refused for now (rate limit, daily quota): try again at `until` (null: the runner decides). */
export class RetryLater extends Error {
  override readonly name = "RetryLater";
  readonly kind = "retry-later" as const;
  readonly until: Date | null;

  constructor(message: string, options: { until?: Date | string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const until = options.until ?? null;
    this.until = until === null ? null : new Date(until);
    if (this.until !== null && Number.isNaN(this.until.getTime())) {
      throw new TypeError(`RetryLater: until must be a Date or an ISO timestamp, got ${JSON.stringify(String(until))}`);
    }
  }
}

/** The credentials were refused (expired, revoked, missing a permission): a person must reconnect the account. */
export class NeedsReconnect extends Error {
  override readonly name = "NeedsReconnect";
  readonly kind = "needs-reconnect" as const;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** The platform will never take this video as it is (bad metadata, too large, wrong format): do not retry. */
export class PermanentFailure extends Error {
  override readonly name = "PermanentFailure";
  readonly kind = "permanent" as const;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * The kind of a failure: from an instance of the classes above, or from a plain object with
 * their `kind` (what a structured clone or JSON leaves of them); null for anything else.
 */
export function failureKind(error: unknown): FailureKind | null {
  if (error instanceof RetryLater || error instanceof NeedsReconnect || error instanceof PermanentFailure) return error.kind;
  if (typeof error !== "object" || error === null) return null;
  const kind = (error as { kind?: unknown }).kind;
  return typeof kind === "string" && KINDS.has(kind) ? (kind as FailureKind) : null;
}

/** A failure as plain data that survives a structured clone or JSON (an Error's clone keeps only its message). */
export interface FailureFields {
  kind: FailureKind;
  message: string;
  /** RetryLater's instant, ISO; null otherwise. */
  until: string | null;
}

/**
 * What an upload's thread should post for a failure of these kinds (null for any other error),
 * so that the runner can act on it: `failureKind` recognises the result.
 */
export function failureFields(error: unknown): FailureFields | null {
  const kind = failureKind(error);
  if (kind === null) return null;
  const { message, until } = error as { message?: unknown; until?: unknown };
  const instant = until instanceof Date ? until : typeof until === "string" ? new Date(until) : null;
  return {
    kind,
    message: typeof message === "string" ? message : "",
    until: instant && !Number.isNaN(instant.getTime()) ? instant.toISOString() : null,
  };
}
