import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import type pg from "pg";
import { parseCrontab, type ParsedCronItem, type TaskList } from "graphile-worker";
import { ConfigError, writableFolderProblem, type Config, type Durations } from "./config.js";
import { PROJECT_ROOT } from "./db/migrate.js";
import { OutcomeJournal, type OutcomeRecord } from "./journal.js";
import type { Logger } from "./log.js";
import { destinationUploads, outcomeOf, type PluginSpec, type RunUpload } from "./media/isolation.js";
import { removeStalePartials } from "./media/local-destination.js";
import { loadMediaProcess } from "./media/plugin.js";
import { createMetrics, type SchedulerMetrics } from "./metrics.js";
import { UploadOutcomes } from "./outcomes.js";
import { UploadSchedulerService } from "./service.js";
import { isProcessRunning } from "./processes.js";
import type { LeasedOutcome } from "./types.js";
import type { TaskContext } from "../tasks/context.js";
import { scheduleUploads } from "../tasks/schedule_uploads.js";
import { uploadVideo } from "../tasks/upload_video.js";

/** How this process signs the uploads it starts (videos.worker). */
export const WORKER_ID = `${hostname()}:${process.pid}`;

/** After the grace period: how long aborted uploads and unwritten outcomes get before the worker stops waiting for them. */
export const GIVE_UP_AFTER_GRACE_MS = 3000;

/** The crontab's text: one tick a minute (the file `crontab` at the package's root). */
export const CRONTAB = readFileSync(path.join(PROJECT_ROOT, "crontab"), "utf8");

/** Everything that can be checked before the database: every problem, one sentence each. */
export async function localProblems(config: Config): Promise<string[]> {
  return [...(await destinationProblems(config)), ...[await writableFolderProblem("DATA_DIR", config.dataDir)].filter((p): p is string => p !== null)];
}

/** The plug-in loads; or, for the built-in destination, UPLOAD_DIR is writable and SOURCE_ROOTS are folders. */
export async function destinationProblems(config: Config): Promise<string[]> {
  const problems: Array<string | null> = [];
  if (config.mediaProcessModule) {
    problems.push(await loadMediaProcess(config.mediaProcessModule).then(() => null, (error: Error) => error.message));
  } else {
    problems.push(await writableFolderProblem("UPLOAD_DIR", config.uploadDir));
    for (const root of config.sourceRoots) {
      problems.push(await stat(root).then(
        (s) => (s.isDirectory() ? null : `SOURCE_ROOTS: ${root} is not a folder.`),
        () => `SOURCE_ROOTS: ${root} does not exist or cannot be read; give folders, separated by "${path.delimiter}".`,
      ));
    }
  }
  return problems.filter((p): p is string => p !== null);
}

/** What runs the uploads: the outcome journal under DATA_DIR, and mediaProccess in threads of its own. */
export interface UploadRunning {
  journal: OutcomeJournal;
  /** Outcomes a process that died had journaled and not written: written before the first tick. */
  adopted: OutcomeRecord[];
  runUpload: RunUpload;
}

/**
 * Checks the configuration that needs no database (throws a ConfigError naming every problem,
 * `earlier` ones too), opens the outcome journal and readies the plug-in's threads.
 */
export async function openUploadRunning(config: Config, logger: Logger, earlier: string[] = []): Promise<UploadRunning> {
  const problems = [...earlier, ...(await localProblems(config))];
  if (problems.length) throw new ConfigError(problems);
  const { journal, adopted } = await OutcomeJournal.open(path.join(config.dataDir, "journal"), { hostname: hostname(), pid: process.pid });
  let spec: PluginSpec;
  if (config.mediaProcessModule) {
    spec = { module: config.mediaProcessModule };
  } else {
    spec = { uploadDir: config.uploadDir, sourceRoots: config.sourceRoots };
    const stale = await removeStalePartials(config.uploadDir);
    if (stale.length) logger.info("partial_copies_removed", "removed the partial copies of uploads whose process died", { files: stale });
  }
  return {
    journal, adopted,
    runUpload: destinationUploads(spec, { spares: Math.min(config.uploadConcurrency, 4), uploadDir: config.uploadDir, sourceRoots: config.sourceRoots }),
  };
}

/** The scheduler's two tasks, its crontab item, and what they share. */
export interface SchedulerParts {
  service: UploadSchedulerService;
  outcomes: UploadOutcomes;
  metrics: SchedulerMetrics;
  /** What health() and the endpoint use: INTERRUPTED_AFTER and MAX_ATTEMPTS. */
  policy: { interruptedAfter: string; maxAttempts: number; retryAfterMs?: number };
  /** schedule_uploads (the tick) and upload_video (one upload). */
  taskList: TaskList;
  /** The crontab's tick, every minute. */
  parsedCronItems: ParsedCronItem[];
  /** Aborting it aborts every upload still running (their signal fires). */
  abortUploads: AbortController;
  /** Resolves once no upload of these tasks is running (nor writing its outcome). */
  idle(): Promise<void>;
  /** The plug-in calls running now, and how those ended since `watch()` (for the shutdown's lines). */
  uploads: UploadWatch;
}

export interface UploadWatch {
  /** The videos whose plug-in runs now. */
  running(): string[];
  /** From now on, remembers how each upload ends. */
  watch(): void;
  /** The uploads that ended since watch(), in order. */
  ended(): Array<{ video_id: string; outcome: LeasedOutcome }>;
}

/**
 * Builds the tasks from the configuration, the same way for `npm start` and for a Graphile
 * Worker of the user's own, and writes the outcomes a dead process left in the journal.
 */
export async function schedulerParts(options: {
  pool: pg.Pool;
  config: Config;
  durations: Durations;
  running: UploadRunning;
  logger: Logger;
}): Promise<SchedulerParts> {
  const { pool, config, durations, running, logger } = options;
  const service = new UploadSchedulerService(pool);
  const policy = { interruptedAfter: durations.interruptedAfter, maxAttempts: config.maxAttempts, retryAfterMs: durations.retryAfterMs };
  const metrics = createMetrics(service, policy);
  const outcomes = new UploadOutcomes(service, running.journal, logger, {
    worker: WORKER_ID,
    startGrace: config.startGrace,
    lease: config.lease,
    onLate: () => metrics.uploads.inc({ outcome: "late" }),
  });
  outcomes.onBlocked((blocked) => metrics.blocked.set(blocked ? 1 : 0));
  await outcomes.replay(running.adopted);
  await interruptDeadWorkers(service, logger);
  const abortUploads = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  const pluginRuns = new Set<string>();
  let ended: Array<{ video_id: string; outcome: LeasedOutcome }> | null = null;
  // Watched from here, not from the task, so that the shutdown can say what it waits for.
  const runUpload: RunUpload = async (video, context) => {
    pluginRuns.add(video.id);
    try {
      const run = await running.runUpload(video, context);
      const shutDown = abortUploads.signal.aborted;
      ended?.push({
        video_id: video.id,
        outcome: outcomeOf(run, { timedOut: context.signal.aborted && !shutDown, shutDown, uploadTimeout: config.uploadTimeout }).outcome,
      });
      return run;
    } finally {
      pluginRuns.delete(video.id);
    }
  };
  const ctx: TaskContext = {
    service,
    outcomes,
    runUpload,
    logger,
    metrics,
    shutdownSignal: abortUploads.signal,
    uploadTimeout: config.uploadTimeout,
    uploadTimeoutMs: durations.uploadTimeoutMs,
    staleAfter: config.staleAfter,
    retryAfter: config.retryAfter,
    maxAttempts: config.maxAttempts,
    interruptedAfter: durations.interruptedAfter,
    lease: config.lease,
    leaseMs: durations.leaseMs,
    heartbeatMs: durations.heartbeatMs,
    retryAfterMs: durations.retryAfterMs,
  };
  const upload = uploadVideo(ctx);
  return {
    service,
    outcomes,
    metrics,
    policy,
    taskList: {
      schedule_uploads: scheduleUploads(ctx),
      upload_video: (payload, helpers) => {
        const running = Promise.resolve(upload(payload, helpers));
        inFlight.add(running);
        return running.finally(() => inFlight.delete(running));
      },
    },
    parsedCronItems: parseCrontab(CRONTAB),
    abortUploads,
    idle: async () => {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    uploads: {
      running: () => [...pluginRuns],
      watch: () => void (ended ??= []),
      ended: () => [...(ended ?? [])],
    },
  };
}

/**
 * Ends at once, as interrupted, the attempts of this host's processes that no longer run (a
 * worker killed with -9, a crashed host's old pids), rather than waiting for their leases.
 * Pids are reused: a pid that runs again is left to its lease.
 */
export async function interruptDeadWorkers(service: UploadSchedulerService, logger: Logger): Promise<number> {
  const host = hostname();
  try {
    const pids = await service.runningAttemptPids(host);
    const dead = pids.filter((pid) => pid !== process.pid && !isProcessRunning(pid));
    if (!dead.length) return 0;
    const n = await service.interruptDeadWorkers(host, dead);
    if (n) logger.info("dead_workers_interrupted", "ended as interrupted the attempts of this host's processes that are gone", { host, pids: dead, attempts: n });
    return n;
  } catch (error) {
    // Their leases end them anyway, a minute later.
    logger.warn("dead_workers_interrupted", "could not check this host's earlier processes: their leases will end their attempts", { error: (error as Error).message });
    return 0;
  }
}

/**
 * The uploads' part of a shutdown: says what it waits for ("waiting up to 20 s for 2 uploads"),
 * runs `stop` (which returns once no upload runs), aborts the uploads still running when
 * SHUTDOWN_GRACE is over, calls `giveUp` GIVE_UP_AFTER_GRACE_MS later if they have still not
 * ended, and then says how each upload ended.
 */
export async function drainUploads(
  parts: Pick<SchedulerParts, "uploads" | "abortUploads">,
  options: { logger: Logger; shutdownGrace: string; shutdownGraceMs: number; stop: () => Promise<void>; giveUp: () => void },
): Promise<void> {
  const { logger } = options;
  const { uploads } = parts;
  uploads.watch();
  const running = uploads.running();
  const grace = `${+(options.shutdownGraceMs / 1000).toFixed(1)} s`;
  logger.info(
    "shutdown_waiting",
    running.length ? `waiting up to ${grace} for ${count(running.length, "upload")}` : "no upload is running",
    { uploads: running.length, video_ids: running, shutdown_grace: options.shutdownGrace },
  );
  let giveUp: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    const left = uploads.running();
    logger.warn("grace_period_over", `grace period over: aborting ${count(left.length, "upload")} still running`, {
      video_ids: left,
      shutdown_grace: options.shutdownGrace,
    });
    parts.abortUploads.abort(new Error("worker shutting down"));
    giveUp = setTimeout(options.giveUp, GIVE_UP_AFTER_GRACE_MS);
  }, options.shutdownGraceMs);
  try {
    await options.stop();
  } finally {
    clearTimeout(timer);
    clearTimeout(giveUp);
  }
  const ended = uploads.ended();
  if (ended.length) {
    const byOutcome = new Map<string, number>();
    for (const { outcome } of ended) byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    const summary = [...byOutcome].map(([outcome, n]) => `${n} ${outcome}`).join(", ");
    logger.info("shutdown_uploads_ended", `${count(ended.length, "upload")} ended: ${summary}`, { uploads: ended });
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
