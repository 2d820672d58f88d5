import os from "node:os";
import path from "node:path";
import { Logger as GraphileLogger, run, type Runner } from "graphile-worker";
import { UploadSchedulerService } from "./service.js";
import { PROJECT_ROOT } from "./db/migrate.js";
import { GateClosedError, isConnectionError, WaitingPool } from "./db/pool.js";
import { UploadOutcomes } from "./outcomes.js";
import type { Config, Durations } from "./config.js";
import type { OutcomeJournal, OutcomeRecord } from "./journal.js";
import type { RunUpload } from "./media/isolation.js";
import type { Logger } from "./log.js";
import type { TaskContext } from "../tasks/context.js";
import { scheduleUploads } from "../tasks/schedule_uploads.js";
import { uploadVideo } from "../tasks/upload_video.js";

export interface Scheduler {
  /** Stops claiming, lets in-flight uploads finish within the grace period, aborts the rest. */
  stop(): Promise<void>;
}

/** How this process signs the uploads it starts. */
export const WORKER_ID = `${os.hostname()}:${process.pid}`;

/** After the grace period: how long aborted uploads and unwritten outcomes get before the worker stops waiting for them. */
const GIVE_UP_AFTER_GRACE_MS = 3000;

/**
 * Two Graphile Worker runners on one pool: one runs the crontab's ticks (concurrency 1),
 * the other runs uploads (UPLOAD_CONCURRENCY), so a slow upload never delays a tick. The pool
 * waits for the database while it is away, so neither runner ever sees it gone for good.
 */
export async function startScheduler(options: {
  databaseUrl: string;
  config: Config;
  durations: Durations;
  runUpload: RunUpload;
  logger: Logger;
  journal: OutcomeJournal;
  /** Outcomes a process that died had journaled but not written: written before the first tick. */
  adopted?: OutcomeRecord[];
}): Promise<Scheduler> {
  const { config, durations, logger } = options;
  const pool = new WaitingPool({ connectionString: options.databaseUrl, max: config.uploadConcurrency + 4 }, logger);
  const service = new UploadSchedulerService(pool);
  const outcomes = new UploadOutcomes(service, options.journal, logger, { worker: WORKER_ID, startGrace: config.startGrace });
  await outcomes.replay(options.adopted ?? []);
  const shutdown = new AbortController();
  const ctx: TaskContext = {
    service,
    outcomes,
    runUpload: options.runUpload,
    logger,
    shutdownSignal: shutdown.signal,
    uploadTimeout: config.uploadTimeout,
    uploadTimeoutMs: durations.uploadTimeoutMs,
    staleAfter: config.staleAfter,
    retryAfter: config.retryAfter,
    maxAttempts: config.maxAttempts,
    interruptedAfter: durations.interruptedAfter,
  };
  // Graphile Worker's complaints about a lost connection are warnings here: the pool waits for the database.
  const graphileLogger = new GraphileLogger(() => (level, message, meta) => {
    if (level === "error" && !isConnectionError(meta?.error)) logger.error(message, { source: "graphile-worker" });
    else if (level === "error" || level === "warning") logger.warn(message, { source: "graphile-worker" });
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
  logger.info("worker started", { worker: WORKER_ID, upload_concurrency: config.uploadConcurrency, upload_timeout: config.uploadTimeout });

  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        let giveUp: NodeJS.Timeout | undefined;
        const stopWaiting = () => {
          pool.gate.close(new GateClosedError("the worker is shutting down while the database is away"));
          outcomes.abandon();
        };
        const grace = setTimeout(() => {
          logger.warn("grace period over: aborting uploads still running", { shutdown_grace: config.shutdownGrace });
          shutdown.abort(new Error("worker shutting down"));
          // A database that is away does not hold the shutdown: what is not written stays in the journal.
          giveUp = setTimeout(stopWaiting, GIVE_UP_AFTER_GRACE_MS);
        }, durations.shutdownGraceMs);
        try {
          await ticks.stop();
          await uploads.stop();
        } finally {
          clearTimeout(grace);
          clearTimeout(giveUp);
          stopWaiting();
          await outcomes.close();
          await pool.end();
        }
      })()),
  };
}
