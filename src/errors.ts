/**
 * One error class for everything the database says. `kind` tells what the caller can do:
 * - "input": the request was wrong (a bad value, an unknown id); fix it, don't retry.
 * - "conflict": the state moved on (another worker started the video, that attempt ended, a
 *   serialisation failure or a lock held too long); read again, or retry later.
 * - "tenant": this session may not do that (another tenant's row, an attempt a worker runs).
 * - "bug": one of the scheduler's own invariants broke; report it.
 * - "connection": the database could not be reached or the connection was lost; retry later.
 * - "database": anything else PostgreSQL raised.
 * The kind of every UP code is the database's table upload_scheduler.error_codes, copied here
 * (test/errors.kinds.test.ts fails when the two differ), so no code is classified by its prefix.
 */
export type SchedulerErrorKind = "input" | "conflict" | "tenant" | "bug" | "connection" | "database";

/** upload_scheduler.error_codes: every SQLSTATE the scheduler raises, and its kind. */
export const ERROR_CODES: Readonly<Record<string, Exclude<SchedulerErrorKind, "connection">>> = {
  UPDAY: "input",
  UPTIM: "input",
  UPQTA: "input",
  UPTZN: "input",
  UPOVL: "input",
  UPNAM: "input",
  UPPAC: "input",
  UPJSN: "input",
  UPARG: "input",
  UPLEN: "input",
  UPEXC: "input",
  UPIMM: "input",
  UPROW: "input",
  UPTRN: "input",
  UPMOV: "input",
  UPNUS: "input",
  UPNSL: "input",
  UPNVD: "input",
  UPVSL: "input",
  UPFUL: "conflict",
  UPSTS: "conflict",
  UPSUP: "conflict",
  UPLSE: "conflict",
  UPTOK: "tenant",
  UPOWN: "tenant",
  UPTEN: "tenant",
  UPBUG: "bug",
};

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

  /** The video the call named does not exist (any more): the only answer that ends an outcome's retries. */
  get isVideoGone(): boolean {
    return this.code === "UPNVD";
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
/** PostgreSQL's own codes that mean "the state moved on under you": retry. */
const CONFLICT_CODES = new Set(["40001", "40P01", "55P03"]);

export function kindOf(code: string | undefined, message: string): SchedulerErrorKind {
  if (code && code in ERROR_CODES) return ERROR_CODES[code]!;
  if (code?.startsWith("UP")) return "bug"; // a code of ours that the table does not know
  if (code && (CONNECTION_CODES.has(code) || code.startsWith("08"))) return "connection";
  if (code && CONFLICT_CODES.has(code)) return "conflict";
  // Row-level security refusing another tenant's row.
  if (code === "42501") return "tenant";
  // Data exceptions (22…) and integrity constraint violations (23…) are bad input.
  if (code && (code.startsWith("22") || code.startsWith("23"))) return "input";
  if (!code && /Connection terminated|connection.*(closed|lost)|not queryable|Query read timeout|timeout expired/i.test(message)) return "connection";
  return "database";
}
