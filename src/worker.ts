import type pg from "pg";
import { Logger as GraphileLogger, run, type Runner } from "graphile-worker";
import { errorText, GateClosedError, isConnectionError, WaitingPool } from "./db/pool.js";
import { endpointPool, startHttpEndpoint, type HttpEndpoint } from "./http/server.js";
import { EndpointAuth } from "./http/auth.js";
import type { Config, Durations } from "./config.js";
import type { Logger } from "./log.js";
import { drainUploads, schedulerParts, WORKER_ID, type UploadRunning } from "./scheduler.js";
import { ClockWatch } from "./clock.js";
import { UploadSchedulerService } from "./service.js";

export { WORKER_ID };

/**
 * Limits on every connection of the worker, so that nothing another session holds can pin it: a
 * statement (the biggest tick included) ends after two minutes, a transaction left open is cut
 * after one, and TCP keepalives notice a peer that is gone. The worker's start and finish
 * functions wait at most 5 s for a row a tenant holds (their own lock_timeout).
 */
export const WORKER_CONNECTION = {
  // A black-holed connection (no answer, no reset) is given up within a minute: the server's
  // statement_timeout ends the work, the client's query_timeout ends the wait, keepalives find
  // idle connections that died, and a connection attempt waits 10 s at most.
  statement_timeout: 50_000,
  query_timeout: 60_000,
  connectionTimeoutMillis: 10_000,
  idle_in_transaction_session_timeout: 60_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
} as const;

export interface Scheduler {
  /** The HTTP endpoint's URL (dashboard, /healthz, /readyz, /metrics); null when it is off. */
  httpUrl: string | null;
  /** Stops claiming, lets in-flight uploads finish within the grace period, aborts the rest. */
  stop(): Promise<void>;
}

/**
 * Two Graphile Worker runners on one pool: one runs the crontab's ticks (concurrency 1),
 * the other runs uploads (UPLOAD_CONCURRENCY), so a slow upload never delays a tick. The pool
 * waits for the database while it is away, so neither runner ever sees it gone for good.
 * Beside them, the HTTP endpoint (HTTP_PORT, HTTP_HOST) unless HTTP_PORT=0.
 */
export async function startScheduler(options: {
  databaseUrl: string;
  config: Config;
  durations: Durations;
  running: UploadRunning;
  logger: Logger;
}): Promise<Scheduler> {
  const { config, durations, logger } = options;
  const pool = new WaitingPool({ connectionString: options.databaseUrl, max: config.uploadConcurrency + 4, ...WORKER_CONNECTION }, logger);
  const parts = await schedulerParts({ pool, config, durations, running: options.running, logger });
  const { outcomes, taskList } = parts;
  // Graphile Worker's complaints about a lost connection are warnings here: the pool waits for
  // the database. Its everyday lines (a worker connected, a job done) are debug.
  const graphileLogger = new GraphileLogger(() => (level, message, meta) => {
    const fields = meta?.error ? { error: errorText(meta.error) } : {};
    // A statement still waiting for the database when the worker shut down is let go with a
    // GateClosedError: the end of a shutdown, not a fault.
    const expected = isConnectionError(meta?.error) || meta?.error instanceof GateClosedError;
    if (level === "error" && !expected) logger.error("graphile_worker", message, fields);
    else if (level === "error" || level === "warning") logger.warn("graphile_worker", message, fields);
    else logger.debug("graphile_worker", message, fields);
  });
  const common = { pgPool: pool, noHandleSignals: true, logger: graphileLogger, pollInterval: 1000 };

  let clockNote = (): string | null => null;
  let http: HttpEndpoint | null = null;
  let httpPool: pg.Pool | null = null;
  if (config.httpPort !== 0) {
    httpPool = endpointPool(options.databaseUrl);
    try {
      http = await startHttpEndpoint({
        host: config.httpHost, port: config.httpPort, pool: httpPool, service: new UploadSchedulerService(httpPool),
        metrics: parts.metrics, policy: parts.policy, logger,
        notReady: () => (parts.outcomes.blocked ? `taking no jobs: ${parts.outcomes.blocked}` : null),
        notes: () => [clockNote()].filter((n): n is string => n !== null),
        auth: new EndpointAuth(config.dashboardToken),
      });
    } catch (error) {
      await httpPool.end();
      httpPool = null;
      // A port set by hand is wanted: not having it stops the start. The default's only warns.
      if (config.httpPortSet) {
        await outcomes.close();
        await pool.end();
        throw error;
      }
      logger.warn("http_unavailable", `no dashboard or metrics from this worker: ${(error as Error).message}`);
    }
  }
  // The crontab runs here only while this worker's clock agrees with the database's (ClockWatch).
  let ticks: Runner | undefined;
  let uploads: Runner;
  let switching: Promise<void> = Promise.resolve();
  let stopped = false;
  const startTicks = (withCrontab: boolean) =>
    run({
      ...common,
      concurrency: 1,
      taskList: { schedule_uploads: taskList.schedule_uploads! },
      parsedCronItems: withCrontab ? parts.parsedCronItems : [],
    });
  const clock = new ClockWatch(parts.service, logger, {
    worker: WORKER_ID,
    maxSkewMs: durations.maxClockSkewMs,
    maxSkew: config.maxClockSkew,
    onChange: (mayRunCrontab) => {
      if (!ticks) return;
      // Runs the tick task either way; only the crontab's registration follows the clock. A runner
      // that cannot start (the database away) is tried again until it does: ticks never stop here.
      switching = switching.then(async () => {
        await ticks!.stop().catch(() => {});
        for (let attempt = 1; !stopped; attempt++) {
          try {
            ticks = await startTicks(mayRunCrontab);
            return;
          } catch (error) {
            logger.warn("clock_skewed", "could not restart the tick runner yet: trying again", { error: errorText(error), attempt });
            await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * attempt, 10_000)));
          }
        }
      });
    },
  });
  clockNote = () => clock.note;
  try {
    const mayRunCrontab = await clock.start();
    ticks = await startTicks(mayRunCrontab);
    uploads = await run({
      ...common,
      concurrency: config.uploadConcurrency,
      taskList: { upload_video: taskList.upload_video! },
      parsedCronItems: [],
    });
  } catch (error) {
    clock.stop();
    await http?.close();
    await httpPool?.end();
    await ticks?.stop().catch(() => {});
    await outcomes.close();
    await pool.end();
    throw error;
  }
  logger.info("worker_started", "worker started", {
    worker: WORKER_ID,
    upload_concurrency: config.uploadConcurrency,
    upload_timeout: config.uploadTimeout,
    ...(http ? { dashboard: http.url } : {}),
  });

  let stopping: Promise<void> | undefined;
  return {
    httpUrl: http?.url ?? null,
    stop: () =>
      (stopping ??= (async () => {
        const stopWaiting = () => {
          pool.gate.close(new GateClosedError("the worker has shut down"));
          outcomes.abandon();
        };
        try {
          await drainUploads(parts, {
            logger,
            shutdownGrace: config.shutdownGrace,
            shutdownGraceMs: durations.shutdownGraceMs,
            stop: async () => {
              clock.stop();
              stopped = true;
              await http?.close();
              await switching;
              await ticks!.stop();
              await uploads.stop();
            },
            // A database that is away does not hold the shutdown: what is not written stays in the journal.
            giveUp: stopWaiting,
          });
        } finally {
          stopWaiting();
          await outcomes.close();
          await pool.end();
          // Its connections to a database that does not answer end on their own query_timeout.
          await httpPool?.end();
        }
      })()),
  };
}
