/**
 * One error class for everything the database says. `kind` tells what the caller can do:
 * - "input": the request was wrong (an UP* code of ours, or a data or constraint error); fix it, don't retry.
 * - "state": the video was not in the status the call needs (UPSTS); someone else moved it.
 * - "connection": the database could not be reached or the connection was lost; retry later.
 * - "database": anything else PostgreSQL raised.
 */
export type SchedulerErrorKind = "input" | "state" | "connection" | "database";

export class SchedulerError extends Error {
  override readonly name = "SchedulerError";
  readonly kind: SchedulerErrorKind;
  /** SQLSTATE (e.g. "UPOVL"), or the Node error code for a connection failure (e.g. "ECONNREFUSED"). */
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, options: { kind: SchedulerErrorKind; code?: string; detail?: string; hint?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.kind = options.kind;
    this.code = options.code;
    this.detail = options.detail;
    this.hint = options.hint;
  }

  get isInputError(): boolean {
    return this.kind === "input";
  }

  get isConnectionError(): boolean {
    return this.kind === "connection";
  }

  /** Wraps whatever pg threw. */
  static from(error: unknown): SchedulerError {
    if (error instanceof SchedulerError) return error;
    const e = error as { message?: string; code?: string; detail?: string; hint?: string };
    const message = e?.message ?? String(error);
    const code = typeof e?.code === "string" ? e.code : undefined;
    return new SchedulerError(message, {
      kind: kindOf(code, message),
      ...(code ? { code } : {}),
      ...(e?.detail ? { detail: e.detail } : {}),
      ...(e?.hint ? { hint: e.hint } : {}),
      cause: error,
    });
  }
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "57P01", "57P02", "57P03"]);

function kindOf(code: string | undefined, message: string): SchedulerErrorKind {
  if (code === "UPSTS") return "state";
  if (code?.startsWith("UP")) return "input";
  if (code && (CONNECTION_CODES.has(code) || code.startsWith("08"))) return "connection";
  // Data exceptions (22…) and integrity constraint violations (23…) are bad input too.
  if (code && (code.startsWith("22") || code.startsWith("23"))) return "input";
  if (!code && /Connection terminated|connection.*(closed|lost)|not queryable/i.test(message)) return "connection";
  return "database";
}
