import { hostname } from "node:os";
import path from "node:path";
import pg from "pg";
import { Logger as GraphileLogger, run, type Runner } from "graphile-worker";
import { UploadSchedulerService } from "./service.js";
import { PROJECT_ROOT } from "./db/migrate.js";
import type { Config, Durations } from "./config.js";
import type { MediaProcess } from "./media/plugin.js";
import type { Logger } from "./log.js";
import type { TaskContext } from "../tasks/context.js";
import { scheduleUploads } from "../tasks/schedule_uploads.js";
import { uploadVideo } from "../tasks/upload_video.js";

export interface Scheduler {
  /** Stops claiming, lets in-flight uploads finish within the grace period, aborts the rest. */
  stop(): Promise<void>;
}

/**
 * Two Graphile Worker runners on one pool: one runs the crontab's ticks (concurrency 1),
 * the other runs uploads (UPLOAD_CONCURRENCY), so a slow upload never delays a tick.
 */
export async function startScheduler(options: {
  databaseUrl: string;
  config: Config;
  durations: Durations;
  mediaProcess: MediaProcess;
  logger: Logger;
}): Promise<Scheduler> {
  const { config, durations, logger } = options;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: config.uploadConcurrency + 4 });
  pool.on("error", (error) => logger.warn("idle database connection lost", { error: error.message }));
  pool.on("connect", (client) => client.on("error", (error) => logger.warn("database connection error", { error: error.message })));
  const shutdown = new AbortController();
  const ctx: TaskContext = {
    service: new UploadSchedulerService(pool),
    mediaProcess: options.mediaProcess,
    logger,
    shutdownSignal: shutdown.signal,
    uploadTimeout: config.uploadTimeout,
    uploadTimeoutMs: durations.uploadTimeoutMs,
    staleAfter: config.staleAfter,
    retryAfter: config.retryAfter,
    maxAttempts: config.maxAttempts,
    interruptedAfter: durations.interruptedAfter,
    startGrace: config.startGrace,
    worker: `${hostname()}:${process.pid}`,
  };
  const graphileLogger = new GraphileLogger(() => (level, message) => {
    if (level === "error") logger.error(message, { source: "graphile-worker" });
    else if (level === "warning") logger.warn(message, { source: "graphile-worker" });
  });
  const common = { pgPool: pool, noHandleSignals: true, logger: graphileLogger, pollInterval: 1000 };

  const ticks: Runner = await run({
    ...common,
    concurrency: 1,
    taskList: { schedule_uploads: scheduleUploads(ctx) },
    crontabFile: path.join(PROJECT_ROOT, "crontab"),
  });
  const uploads: Runner = await run({
    ...common,
    concurrency: config.uploadConcurrency,
    taskList: { upload_video: uploadVideo(ctx) },
    parsedCronItems: [],
  });
  logger.info("worker started", { upload_concurrency: config.uploadConcurrency, upload_timeout: config.uploadTimeout });

  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        await ticks.stop();
        const grace = setTimeout(() => {
          logger.warn("grace period over: aborting uploads still running", { shutdown_grace: config.shutdownGrace });
          shutdown.abort(new Error("worker shutting down"));
        }, durations.shutdownGraceMs);
        try {
          await uploads.stop();
        } finally {
          clearTimeout(grace);
          await pool.end();
        }
      })()),
  };
}
