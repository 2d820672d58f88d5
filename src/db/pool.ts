import pg from "pg";
import { SchedulerError } from "../errors.js";
import type { Logger } from "../log.js";

/** A lost connection, a refused one, a server shutting down or starting up: worth waiting for. */
export function isConnectionError(error: unknown): boolean {
  return SchedulerError.from(error).isConnectionError;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
}

/** A caller that waited for the database was let go: the process is stopping. */
export class GateClosedError extends Error {
  override readonly name = "GateClosedError";
}

export interface GateOptions {
  /** Resolves when the database accepts a connection. */
  probe: () => Promise<void>;
  logger: Logger;
  /** First wait between attempts, doubled after each failure up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Whether the database is reachable, as this process last saw it. When a connection fails,
 * callers wait in `ready()` while one loop probes the server with backoff, logging each attempt
 * once; when a probe connects, every caller goes on.
 */
export class DatabaseGate {
  private outage: Promise<void> | null = null;
  private closedWith: Error | null = null;
  private readonly closing = new AbortController();
  private readonly closed = new Promise<void>((resolve) => this.closing.signal.addEventListener("abort", () => resolve(), { once: true }));
  private readonly options: Required<GateOptions>;

  constructor(options: GateOptions) {
    this.options = { minDelayMs: 100, maxDelayMs: 5000, ...options };
  }

  get reachable(): boolean {
    return this.outage === null && this.closedWith === null;
  }

  /** Resolves at once while the database is reachable, otherwise once it is again; rejects once closed. */
  async ready(): Promise<void> {
    if (this.outage && !this.closedWith) await Promise.race([this.outage, this.closed]);
    if (this.closedWith) throw this.closedWith;
  }

  /** A connection failed: wait for the database from now on, until a probe connects. */
  lost(error: unknown): void {
    if (this.outage || this.closedWith) return;
    this.options.logger.warn("database_connection_lost", "database connection lost: waiting for the database", { error: errorText(error) });
    this.outage = this.waitForDatabase().finally(() => (this.outage = null));
  }

  /** Stops waiting: every caller waiting now or later is rejected with `reason`. */
  close(reason: Error): void {
    this.closedWith ??= reason;
    this.closing.abort(reason);
  }

  private async waitForDatabase(): Promise<void> {
    const { probe, logger, minDelayMs, maxDelayMs } = this.options;
    const since = Date.now();
    let delay = minDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await probe();
        logger.info("database_reachable", "database reachable again", { attempts: attempt, down_ms: Date.now() - since });
        return;
      } catch (error) {
        logger.warn("database_unreachable", "database unreachable", { attempt, retry_in_ms: delay, error: errorText(error) });
      }
      if (!(await sleep(delay, this.closing.signal))) return;
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}

/** Waits `ms`; false when the signal fired first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Graphile Worker's statements that complete or fail a job: one job (or a list) by id, locked
 * by this worker. Applying one twice changes nothing, so when its connection is lost it is sent
 * again on a fresh one instead of failing (Graphile Worker 0.17 does not await them, and a
 * rejection there would end the process).
 */
const IDEMPOTENT_STATEMENTS = /^(complete_jobs?|complete_job_q|fail_jobs?|fail_job_q)\//;
/**
 * Graphile Worker's lookup of its task ids (insert … on conflict do nothing, then a select), made
 * by each runner's first attempt to take a job. Graphile Worker 0.17 caches that lookup's promise
 * even when it rejects, so a runner whose first lookup met a database going away could never take
 * a job again (its workers failed every poll, silently, while the other runner went on). Both
 * statements can be sent again safely, and are, until they answer.
 */
const IDEMPOTENT_TEXT = /^\s*(insert into \S+\._private_tasks as tasks \(identifier\)|select id, identifier from \S+\._private_tasks as tasks )/;
const ORIGINAL_QUERY = Symbol("original query");

/** Waits until the database at `url` accepts a connection, logging each failed attempt once. */
export async function waitForDatabase(url: string, logger: Logger): Promise<void> {
  try {
    return await probe({ connectionString: url });
  } catch (error) {
    if (!isConnectionError(error)) throw error;
    const gate = new DatabaseGate({ probe: () => probe({ connectionString: url }), logger });
    gate.lost(error);
    await gate.ready();
  }
}

/**
 * A pg.Pool that waits for the database instead of failing: `connect()` (and so every query)
 * waits while the database is unreachable and goes on when it is back; a job completion whose
 * connection dropped is written again. `end()` stops the waiting.
 */
export class WaitingPool extends pg.Pool {
  readonly gate: DatabaseGate;
  private readonly logger: Logger;

  constructor(config: pg.PoolConfig, logger: Logger, backoff: { minDelayMs?: number; maxDelayMs?: number } = {}) {
    super(config);
    this.logger = logger;
    this.gate = new DatabaseGate({ probe: () => probe(config), logger, ...backoff });
    const onError = (error: Error) => {
      if (isConnectionError(error)) this.gate.lost(error);
      else logger.warn("database_connection_error", "database connection error", { error: error.message });
    };
    this.on("error", onError);
    this.on("connect", (client) => {
      client.on("error", onError);
      this.retryIdempotentStatements(client);
    });
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: any) => void) => void): void;
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: any) => void) => void,
  ): Promise<pg.PoolClient> | void {
    const connected = this.connectWhenReachable();
    if (!callback) return connected;
    connected.then(
      (client) => callback(undefined, client, client.release),
      (error) => callback(error, undefined, () => {}),
    );
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | void {
    this.gate.close(new GateClosedError("Cannot use a pool after calling end on the pool"));
    if (callback) return super.end(callback);
    return super.end();
  }

  private async connectWhenReachable(): Promise<pg.PoolClient> {
    for (;;) {
      await this.gate.ready();
      try {
        return await super.connect();
      } catch (error) {
        if (!isConnectionError(error) || this.ending) throw error;
        this.gate.lost(error);
      }
    }
  }

  private retryIdempotentStatements(client: pg.PoolClient) {
    const original = client.query as unknown as (...args: unknown[]) => unknown;
    const pool = this;
    (client as any)[ORIGINAL_QUERY] = original;
    client.query = function (this: pg.PoolClient, config: any, ...rest: any[]) {
      const idempotent = (typeof config?.name === "string" && IDEMPOTENT_STATEMENTS.test(config.name)) ||
        (typeof config?.text === "string" && IDEMPOTENT_TEXT.test(config.text));
      if (rest.length === 0 && idempotent && !config.callback) {
        return (original.call(client, config) as Promise<pg.QueryResult>).catch((error: unknown) => {
          if (!isConnectionError(error)) throw error;
          return pool.runAgain(config, error);
        });
      }
      return original.call(client, config, ...rest);
    } as typeof client.query;
  }

  /** Sends an idempotent statement again on fresh connections until one answers. */
  private async runAgain(config: pg.QueryConfig, lost: unknown): Promise<pg.QueryResult> {
    this.logger.warn("job_completion_retried", "a Graphile Worker statement lost its connection: sending it again", {
      statement: config.name ?? config.text.trim().split(/\s+/).slice(0, 4).join(" "), error: errorText(lost),
    });
    for (;;) {
      const client = await this.connect();
      try {
        const result = await (client as any)[ORIGINAL_QUERY].call(client, config);
        client.release();
        return result;
      } catch (error) {
        client.release(error as Error);
        if (!isConnectionError(error)) throw error;
      }
    }
  }
}

/** Connects once and disconnects: resolves when the database accepts connections. */
export async function probe(config: pg.ClientConfig): Promise<void> {
  const client = new pg.Client(config);
  client.on("error", () => {});
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => {});
  }
}

/** The database did not answer within the time a caller allows (an HTTP request, a scrape). */
export class DatabaseTimeoutError extends Error {
  override readonly name = "DatabaseTimeoutError";
}

/**
 * `promise`, or a DatabaseTimeoutError with `message` after `ms`. The work itself goes on: give
 * its connection a statement_timeout (or a query_timeout) so that it ends too.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseTimeoutError(message)), ms);
    }),
  ]);
}
