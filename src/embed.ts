import type pg from "pg";
import type { ParsedCronItem, TaskList } from "graphile-worker";
import { readConfig, resolveDurations } from "./config.js";
import { jsonLogger, type Logger } from "./log.js";
import type { SchedulerMetrics } from "./metrics.js";
import { GIVE_UP_AFTER_GRACE_MS, openUploadRunning, schedulerParts } from "./scheduler.js";
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
 * SHUTDOWN_GRACE; DATABASE_URL is not read: the pool is yours). The database must be migrated
 * first (`npm run db:migrate`, or `prepareDatabase`). Throws a ConfigError naming every bad setting.
 */
export async function uploadSchedulerTasks(options: {
  pgPool: pg.Pool;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default: JSON lines on stdout. */
  logger?: Logger;
}): Promise<UploadSchedulerTasks> {
  const config = readConfig(options.env ?? process.env);
  const logger = options.logger ?? jsonLogger({ service: "upload-scheduler", pid: process.pid });
  const durations = await resolveDurations(options.pgPool, config);
  const running = await openUploadRunning(config, logger);
  let parts;
  try {
    parts = await schedulerParts({ pool: options.pgPool, config, durations, running, logger });
  } catch (error) {
    await running.journal.close();
    throw error;
  }
  const { taskList, parsedCronItems, metrics, service, outcomes, abortUploads, idle } = parts;
  let stopping: Promise<void> | undefined;
  return {
    taskList,
    parsedCronItems,
    metrics,
    service,
    stop: () =>
      (stopping ??= (async () => {
        let giveUp: NodeJS.Timeout | undefined;
        const grace = setTimeout(() => {
          logger.warn("grace period over: aborting uploads still running", { shutdown_grace: config.shutdownGrace });
          abortUploads.abort(new Error("worker shutting down"));
          // A database that is away does not hold the stop: what is not written stays in the journal.
          giveUp = setTimeout(() => outcomes.abandon(), GIVE_UP_AFTER_GRACE_MS);
        }, durations.shutdownGraceMs);
        try {
          await idle();
        } finally {
          clearTimeout(grace);
          clearTimeout(giveUp);
          await outcomes.close();
        }
      })()),
  };
}
