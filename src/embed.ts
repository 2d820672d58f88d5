import type pg from "pg";
import type { ParsedCronItem, TaskList } from "graphile-worker";
import { readConfig, resolveDurations } from "./config.js";
import { createLogger, toLogger, type AnyLogger } from "./log.js";
import type { SchedulerMetrics } from "./metrics.js";
import { drainUploads, openUploadRunning, schedulerParts } from "./scheduler.js";
import type { UploadSchedulerService } from "./service.js";

/** What a Graphile Worker of your own needs to run the scheduler beside your tasks. */
export interface UploadSchedulerTasks {
  /** `schedule_uploads` (the tick) and `upload_video` (one upload): spread them into your taskList. */
  taskList: TaskList;
  /** The tick, every minute: add them to your parsedCronItems (or the line of `crontab` to your crontab). */
  parsedCronItems: ParsedCronItem[];
  /** The scheduler's Prometheus metrics (`await metrics.render()` is the exposition text). */
  metrics: SchedulerMetrics;
  /** The typed client on the same pool. */
  service: UploadSchedulerService;
  /**
   * Call it when your runner stops (beside `runner.stop()`): uploads still running get
   * SHUTDOWN_GRACE to end, then their signal fires; their outcomes are written (or left in the
   * journal under DATA_DIR for the next start), and the journal is closed.
   */
  stop(): Promise<void>;
}

/**
 * The scheduler's tasks and crontab item for a Graphile Worker runner of your own, built from
 * the same environment as `npm start` (MEDIA_PROCESS_MODULE, UPLOAD_DIR, DATA_DIR, UPLOAD_TIMEOUT,
 * STALE_PENDING_AFTER, RETRY_FAILED_AFTER, MAX_ATTEMPTS, INTERRUPTED_AFTER, START_GRACE,
 * SHUTDOWN_GRACE, LOG_LEVEL, LOG_FORMAT; DATABASE_URL is not read: the pool is yours). The
 * database must be migrated first (`npx pg-upload-scheduler migrate`, or `prepareDatabase`).
 * Throws a ConfigError naming every bad setting.
 */
export async function uploadSchedulerTasks(options: {
  pgPool: pg.Pool;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Your runner's logger: Graphile Worker's (the `logger` you give `run()`), a pino logger, or
   * the scheduler's own (createLogger). Each line carries an `event` field (in Graphile Worker's
   * meta). Default: the scheduler's pino logger on stdout (LOG_LEVEL, LOG_FORMAT).
   */
  logger?: AnyLogger;
}): Promise<UploadSchedulerTasks> {
  const config = readConfig(options.env ?? process.env);
  const logger = options.logger
    ? toLogger(options.logger)
    : createLogger({ level: config.logLevel, ...(config.logFormat ? { format: config.logFormat } : {}), base: { service: "upload-scheduler", pid: process.pid } });
  const durations = await resolveDurations(options.pgPool, config);
  const running = await openUploadRunning(config, logger);
  let parts;
  try {
    parts = await schedulerParts({ pool: options.pgPool, config, durations, running, logger });
  } catch (error) {
    await running.journal.close();
    throw error;
  }
  const { taskList, parsedCronItems, metrics, service, outcomes, idle } = parts;
  let stopping: Promise<void> | undefined;
  return {
    taskList,
    parsedCronItems,
    metrics,
    service,
    stop: () =>
      (stopping ??= (async () => {
        try {
          await drainUploads(parts, {
            logger,
            shutdownGrace: config.shutdownGrace,
            shutdownGraceMs: durations.shutdownGraceMs,
            stop: idle,
            // A database that is away does not hold the stop: what is not written stays in the journal.
            giveUp: () => outcomes.abandon(),
          });
        } finally {
          await outcomes.close();
        }
      })()),
  };
}
