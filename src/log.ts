import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";
import { prettyFactory } from "pino-pretty";

/**
 * Every line the scheduler logs carries one of these in its `event` field, with the sentence in
 * `msg`: match lines (in tests, in log queries, in alerts) by `event`, never by the sentence,
 * which may be reworded. A new kind of line is a new key here; docs/operating.md's "Logs" table lists them.
 */
export const LOG_EVENTS = {
  // Starting and stopping
  worker_started: "the worker runs: both Graphile Worker runners, and the HTTP endpoint unless HTTP_PORT=0",
  start_failed: "the worker could not start: one line per problem (a setting, a folder, the plug-in, the database); it exits 1",
  upload_destination: "where uploads go: the plug-in (MEDIA_PROCESS_MODULE) or the built-in local destination",
  migrations_applied: "the scheduler's migrations, Graphile Worker's schema and the worker role's grants are applied",
  database_checked: "the database is up to date; its owner applies migrations (a least-privilege DATABASE_URL)",
  psql_url: "the next line of output is the embedded PostgreSQL's URL, for psql",
  shutting_down: "SIGTERM, SIGINT or a fatal fault: the worker stops claiming and shuts down in order",
  shutdown_waiting: "what the shutdown waits for: the uploads still running, for at most SHUTDOWN_GRACE",
  grace_period_over: "SHUTDOWN_GRACE is over: the uploads still running are aborted",
  shutdown_uploads_ended: "how each upload running at shutdown ended",
  stopped: "the worker stopped in order; it exits",
  shutdown_failed: "the shutdown failed part-way; the worker exits 1",
  second_signal: "a second SIGTERM or SIGINT: the worker exits at once, with 1",
  // Ticks and uploads
  tick: "one tick ran: how many videos it claimed, reset as stale, sent back to retry and failed as interrupted",
  claimed: "a tick claimed a video into a slot; its upload job is queued",
  uploaded: "an upload succeeded",
  upload_failed: "an upload failed (outcome: failed, timed_out, aborted, retry_later, needs_reconnect, permanent or unknown) and says why",
  upload_reconciled: "an earlier attempt's outcome was unknown; the plug-in's reconcile found the upload already at the destination: success, nothing sent",
  upload_lease_lost: "an upload stopped because its attempt lost its lease: not reported (the sweep interrupts it, the next attempt reconciles)",
  upload_late: "an upload was not started: its slot closed longer than START_GRACE ago; the video is back in the queue",
  upload_skipped: "an upload job found its video already started elsewhere or reset: nothing to do",
  upload_video_gone: "an upload job found its video deleted: nothing to upload",
  upload_start_lost: "the answer to an upload's start was lost with its connection: if it started, its lease lapses and the sweep retries it",
  lease_not_renewed: "a heartbeat could not renew an upload's lease (the database did not answer); the next one tries again",
  lease_lost: "an upload's lease ran out or was refused: its upload is aborted through context.signal",
  clock_skewed: "this worker's clock is more than MAX_CLOCK_SKEW off the database's: it does not run the crontab (it keeps uploading), and says so in health() and /readyz",
  clock_ok: "this worker's clock agrees with the database's again: it runs the crontab",
  dead_workers_interrupted: "at start, the attempts of this host's processes that no longer run were ended as interrupted",
  media_process: "a line the plug-in (mediaProccess) logged through context.logger; `msg` is the plug-in's",
  media_process_log_dropped: "a plug-in logged faster than 200 lines a second: the lines over that were dropped, and counted",
  partial_copies_removed: "the built-in destination removed half-made copies left by a process that died",
  // Outcomes and the journal
  outcome_kept: "an outcome the database did not take within a second is journaled under DATA_DIR, and retried until the database takes it",
  outcome_written: "an outcome that needed more than one try is written",
  outcome_still_unwritten: "writing an outcome failed with the database up (a lock held, a timeout); still retried",
  outcome_superseded: "an outcome was dropped: that attempt is no longer the video's current upload",
  outcome_refused: "an outcome was dropped: the database refuses it for good (the video was deleted)",
  outcomes_replaying: "writing outcomes that a process which died had journaled",
  outcomes_kept_in_journal: "at shutdown, outcomes not written yet stay in the journal for the next start",
  worker_blocked: "an outcome could be neither written nor journaled (database away and DATA_DIR full, say): the worker takes no jobs, and /readyz says why",
  worker_unblocked: "the outcomes are safe again (written or journaled): the worker takes jobs again",
  // The database
  database_connection_lost: "a connection failed: every caller waits for the database from now on",
  database_unreachable: "one attempt to reach the database failed; the next follows after retry_in_ms",
  database_reachable: "the database answers again: everything waiting goes on",
  database_connection_error: "a connection reported an error that is not a lost connection",
  job_completion_retried: "a Graphile Worker statement that is safe to repeat (a job's completion, its lookup of task ids) lost its connection and is sent again",
  statement_dropped_at_shutdown: "a Graphile Worker statement still waiting for the database at shutdown was dropped",
  graphile_worker_connection_lost: "Graphile Worker lost a connection; it reconnects",
  // The embedded PostgreSQL
  embedded_postgres_started: "the embedded PostgreSQL under DATA_DIR runs",
  embedded_postgres_exited: "the embedded PostgreSQL exited unexpectedly: it is started again",
  embedded_postgres_restarted: "the embedded PostgreSQL runs again",
  embedded_postgres_gone: "the embedded PostgreSQL could not be started again: the worker stops",
  embedded_postgres_notice: "what the embedded PostgreSQL's supervisor did on its own (e.g. stopping a server an earlier run left)",
  // The HTTP endpoint and the rest
  http_unavailable: "the HTTP endpoint could not listen on HTTP_PORT (the default was taken): the worker runs without it",
  http_request_failed: "an HTTP request could not be answered in full (the database did not answer in time, say)",
  http_action: "the dashboard ran an action (retry, withdraw, upload next, pause, resume, a slot switched) through its SQL function",
  http_action_refused: "a dashboard action without the page's CSRF token, or from another origin, was refused",
  http_login_refused: "a login to the dashboard with a wrong token was refused",
  graphile_worker: "a line from Graphile Worker itself; `msg` is its own",
  unhandled_rejection: "a promise rejection nobody handled: logged, and the worker goes on",
  uncaught_exception: "an exception nobody caught: the worker shuts down in order",
} as const;

export type LogEvent = keyof typeof LOG_EVENTS;
export type LogFields = Record<string, unknown>;

/** `logger.info("claimed", fields)` or `logger.info("claimed", "a sentence", fields)`: the event comes first, always. */
export interface LogMethod {
  (event: LogEvent, fields?: LogFields): void;
  (event: LogEvent, message: string, fields?: LogFields): void;
}

/** The scheduler's logger: every line has an event (LOG_EVENTS), an optional sentence, and fields. */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  /** A logger whose lines all carry `fields` too (e.g. a video's id). */
  child(fields: LogFields): Logger;
}

/**
 * What a mediaProccess plug-in is given as `context.logger`: a sentence and fields, as before
 * events existed. Its lines reach the worker's log with the event `media_process`.
 */
export interface PluginLogger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): PluginLogger;
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  /** Default: info. */
  level?: LogLevel;
  /** Default: pretty when stdout is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Fields on every line. */
  base?: LogFields;
  /** Where lines go (one JSON text per call, newline included). Default: stdout. */
  destination?: DestinationStream;
}

/**
 * A pino logger on stdout: one JSON object per line (easy to grep, easy to ship), or, in a
 * terminal, one readable line each (pino-pretty).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stdout.isTTY ? "pretty" : "json");
  const level = options.level ?? "info";
  const base = options.base ?? {};
  if (format === "pretty") {
    // pino-pretty's formatter, called in this thread for each line: its stream form goes through
    // asynchronous streams, and the last lines before process.exit() could be lost.
    const prettify = prettyFactory({
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service,event",
      singleLine: true,
      messageFormat: (log, messageKey) => (log[messageKey] ? `${log.event}: ${log[messageKey]}` : String(log.event)),
    });
    const out = options.destination ?? { write: (text: string) => void process.stdout.write(text) };
    return fromPino(pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => out.write(prettify(line)) }));
  }
  return fromPino(pino(
    {
      level,
      base,
      // "info", not 30: readable with grep and jq, as the lines were before pino.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  ));
}

/**
 * JSON lines to `write` (one line each, without its newline): what tests capture, and what
 * callers used before createLogger.
 */
export function jsonLogger(base: LogFields = {}, write: (line: string) => void = (l) => process.stdout.write(l + "\n"), level: LogLevel = "info"): Logger {
  return createLogger({ format: "json", level, base, destination: { write: (line: string) => write(line.replace(/\n$/, "")) } });
}

/** The two ways of calling a LogMethod, as (sentence or undefined, fields). */
function parts(a: string | LogFields | undefined, b: LogFields | undefined): [string | undefined, LogFields | undefined] {
  return typeof a === "string" ? [a, b] : [undefined, a];
}

/** `event` first on the line, and no field can overwrite it. */
function withEvent(event: LogEvent, fields: LogFields | undefined): LogFields {
  return Object.assign({ event }, fields, { event });
}

/** The scheduler's Logger over a pino logger (yours, when you embed the scheduler: pass it as `logger`). */
export function fromPino(logger: PinoLogger): Logger {
  const method = (level: "debug" | "info" | "warn" | "error"): LogMethod =>
    ((event: LogEvent, a?: string | LogFields, b?: LogFields) => {
      const [message, fields] = parts(a, b);
      if (message === undefined) logger[level](withEvent(event, fields));
      else logger[level](withEvent(event, fields), message);
    }) as LogMethod;
  return { debug: method("debug"), info: method("info"), warn: method("warn"), error: method("error"), child: (fields) => fromPino(logger.child(fields)) };
}

/** Graphile Worker's Logger, as far as the scheduler uses it (its `scope` tells it apart). */
export interface GraphileLoggerLike {
  debug(message: string, meta?: LogFields): void;
  info(message: string, meta?: LogFields): void;
  warn(message: string, meta?: LogFields): void;
  error(message: string, meta?: LogFields): void;
  scope(scope: object): unknown;
}

/**
 * The scheduler's Logger over Graphile Worker's (the one your runner logs with): each line is
 * its sentence (the event when there is none), with the event and the fields in its meta.
 */
export function fromGraphileLogger(logger: GraphileLoggerLike, bindings: LogFields = {}): Logger {
  const method = (level: "debug" | "info" | "warn" | "error"): LogMethod =>
    ((event: LogEvent, a?: string | LogFields, b?: LogFields) => {
      const [message, fields] = parts(a, b);
      logger[level](message ?? event, withEvent(event, { ...bindings, ...fields }));
    }) as LogMethod;
  return {
    debug: method("debug"), info: method("info"), warn: method("warn"), error: method("error"),
    child: (fields) => fromGraphileLogger(logger, { ...bindings, ...fields }),
  };
}

/** Whatever logger an embedding app gives: the scheduler's own, a pino logger, or Graphile Worker's. */
export type AnyLogger = Logger | PinoLogger | GraphileLoggerLike;

export function toLogger(logger: AnyLogger): Logger {
  const candidate = logger as unknown as Record<string, unknown>;
  if (typeof candidate.bindings === "function" && typeof candidate.levels === "object") return fromPino(logger as PinoLogger);
  if (typeof candidate.scope === "function") return fromGraphileLogger(logger as GraphileLoggerLike);
  return logger as Logger;
}

/** A plug-in's logger: its sentences become `media_process` lines of `logger`. */
export function pluginLogger(logger: Logger): PluginLogger {
  const method = (level: "info" | "warn" | "error") => (msg: string, fields?: LogFields) => logger[level]("media_process", String(msg), fields);
  return { info: method("info"), warn: method("warn"), error: method("error"), child: (fields) => pluginLogger(logger.child(fields)) };
}
