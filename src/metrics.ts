import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { withTimeout } from "./db/pool.js";
import type { UploadSchedulerService } from "./service.js";

/** How long a scrape waits for the database's figures before it answers without them. */
export const DATABASE_TIMEOUT_MS = 2000;

/**
 * prom-client's default gauges that end in _total, which Prometheus reserves for counters
 * (`promtool check metrics` fails on them). Their labelled twins (nodejs_active_handles{type}, …)
 * stay: `sum(nodejs_active_handles)` is the total.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/**
 * The worker's Prometheus metrics: what this process did (counters and histograms, kept in
 * memory), and how the whole scheduler stands (gauges read from the database at scrape time, in
 * one query: upload_scheduler.health).
 */
export interface SchedulerMetrics {
  /** This process's metrics: Node's, the counters and histograms, and upload_scheduler_database_up. */
  registry: Registry;
  /** The gauges read from the database at scrape time; rendered only when it answered. */
  databaseRegistry: Registry;
  ticks: Counter;
  claims: Counter;
  uploads: Counter<"outcome">;
  uploadSeconds: Histogram<"outcome">;
  /** Bytes this worker's uploads reported sent (context.progress). */
  uploadedBytes: Counter;
  /** 1 while this worker takes no job (an outcome it can neither write nor journal). */
  blocked: Gauge;
  tickSeconds: Histogram;
  /**
   * The exposition text. The database's gauges are read through `service` (default: the one the
   * metrics were made with) within `timeoutMs` (default 2 s); when it does not answer in time,
   * the text has the process's metrics, upload_scheduler_database_up 0, and no database gauge.
   */
  render(options?: { service?: UploadSchedulerService; timeoutMs?: number }): Promise<string>;
}

export function createMetrics(service: UploadSchedulerService, policy: { interruptedAfter: string; maxAttempts: number }): SchedulerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
  const ticks = new Counter({ name: "upload_scheduler_ticks_total", help: "Ticks this worker ran.", registers: [registry] });
  const claims = new Counter({ name: "upload_scheduler_claims_total", help: "Videos this worker's ticks claimed.", registers: [registry] });
  const uploads = new Counter({
    name: "upload_scheduler_uploads_total",
    help:
      "Uploads this worker ran, by outcome (success, failed, timed_out, aborted, retry_later, needs_reconnect, permanent, unknown; " +
      "late: not started, its slot had closed; lease_lost: stopped, its lease lost, nothing reported).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const uploadSeconds = new Histogram({
    name: "upload_scheduler_upload_duration_seconds",
    help: "How long this worker's uploads took, by outcome.",
    labelNames: ["outcome"] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  const uploadedBytes = new Counter({
    name: "upload_scheduler_uploaded_bytes_total",
    help: "Bytes this worker's uploads reported sent to their destination (context.progress).",
    registers: [registry],
  });
  const blocked = new Gauge({
    name: "upload_scheduler_worker_blocked",
    help: "1 while this worker takes no job: an outcome it can neither write to the database nor journal under DATA_DIR.",
    registers: [registry],
  });
  const tickSeconds = new Histogram({
    name: "upload_scheduler_tick_duration_seconds",
    help: "How long this worker's ticks took (one call of upload_scheduler.run_tick).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const databaseUp = new Gauge({
    name: "upload_scheduler_database_up",
    help: "1 when the database answered this scrape's health query in time (2 s), 0 when not; the upload_scheduler_videos and other database gauges are then absent.",
    registers: [registry],
  });

  // A registry of their own: when the database does not answer, they are left out rather than shown stale.
  const databaseRegistry = new Registry();
  const videos = new Gauge({
    name: "upload_scheduler_videos",
    help: "Videos by state, for the whole scheduler (read from the database at scrape time).",
    labelNames: ["state"] as const,
    registers: [databaseRegistry],
  });
  const oldestWaiting = new Gauge({
    name: "upload_scheduler_oldest_waiting_age_seconds",
    help: "How long the oldest waiting video has waited (0 when none waits).",
    registers: [databaseRegistry],
  });
  const lastTickAge = new Gauge({
    name: "upload_scheduler_last_tick_age_seconds",
    help: "Seconds since the last tick of any worker (NaN before the first).",
    registers: [databaseRegistry],
  });
  const overdue = new Gauge({
    name: "upload_scheduler_overdue_uploads",
    help: "Uploads running for longer than INTERRUPTED_AFTER (their worker may be gone).",
    registers: [databaseRegistry],
  });
  const usersLimited = new Gauge({
    name: "upload_scheduler_users_limited",
    help: "Users whose claims a platform's limit (upload_limits) holds now: one of their limits is full.",
    registers: [databaseRegistry],
  });

  return {
    registry,
    databaseRegistry,
    ticks,
    claims,
    uploads,
    uploadSeconds,
    uploadedBytes,
    blocked,
    tickSeconds,
    async render(options = {}) {
      const timeoutMs = options.timeoutMs ?? DATABASE_TIMEOUT_MS;
      const health = await withTimeout((options.service ?? service).health(policy), timeoutMs, `the database did not answer within ${timeoutMs} ms`)
        .catch(() => null);
      databaseUp.set(health ? 1 : 0);
      if (!health) return registry.metrics();
      videos.set({ state: "waiting" }, health.waiting);
      videos.set({ state: "pending" }, health.pending);
      videos.set({ state: "uploading" }, health.uploading);
      videos.set({ state: "failed_retryable" }, health.failedRetryable);
      videos.set({ state: "failed_for_good" }, health.failedForGood);
      oldestWaiting.set((health.oldestWaitingAgeMs ?? 0) / 1000);
      lastTickAge.set(health.lastTickAgeMs === null ? Number.NaN : health.lastTickAgeMs / 1000);
      overdue.set(health.overdueUploads);
      usersLimited.set(health.usersLimited);
      const [own, database] = await Promise.all([registry.metrics(), databaseRegistry.metrics()]);
      return `${own.replace(/\n?$/, "\n")}${database}`;
    },
  };
}
