import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { UploadSchedulerService } from "./service.js";

/**
 * The worker's Prometheus metrics: what this process did (counters and histograms, kept in
 * memory), and how the whole scheduler stands (gauges read from the database at scrape time, in
 * one query: upload_scheduler.health).
 */
export interface SchedulerMetrics {
  registry: Registry;
  ticks: Counter;
  claims: Counter;
  uploads: Counter<"outcome">;
  uploadSeconds: Histogram<"outcome">;
  tickSeconds: Histogram;
  /** The exposition text, after reading the gauges from the database. */
  render(): Promise<string>;
}

export function createMetrics(service: UploadSchedulerService, policy: { interruptedAfter: string; maxAttempts: number }): SchedulerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const ticks = new Counter({ name: "upload_scheduler_ticks_total", help: "Ticks this worker ran.", registers: [registry] });
  const claims = new Counter({ name: "upload_scheduler_claims_total", help: "Videos this worker's ticks claimed.", registers: [registry] });
  const uploads = new Counter({
    name: "upload_scheduler_uploads_total",
    help: "Uploads this worker ran, by outcome (success, failed, timed_out, aborted, late: not started, its slot had closed).",
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
  const tickSeconds = new Histogram({
    name: "upload_scheduler_tick_duration_seconds",
    help: "How long this worker's ticks took (one call of upload_scheduler.run_tick).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const videos = new Gauge({
    name: "upload_scheduler_videos",
    help: "Videos by state, for the whole scheduler (read from the database at scrape time).",
    labelNames: ["state"] as const,
    registers: [registry],
  });
  const oldestWaiting = new Gauge({
    name: "upload_scheduler_oldest_waiting_age_seconds",
    help: "How long the oldest waiting video has waited (0 when none waits).",
    registers: [registry],
  });
  const lastTickAge = new Gauge({
    name: "upload_scheduler_last_tick_age_seconds",
    help: "Seconds since the last tick of any worker (NaN before the first).",
    registers: [registry],
  });
  const overdue = new Gauge({
    name: "upload_scheduler_overdue_uploads",
    help: "Uploads running for longer than INTERRUPTED_AFTER (their worker may be gone).",
    registers: [registry],
  });

  return {
    registry,
    ticks,
    claims,
    uploads,
    uploadSeconds,
    tickSeconds,
    async render() {
      const health = await service.health(policy);
      videos.set({ state: "waiting" }, health.waiting);
      videos.set({ state: "pending" }, health.pending);
      videos.set({ state: "uploading" }, health.uploading);
      videos.set({ state: "failed_retryable" }, health.failedRetryable);
      videos.set({ state: "failed_for_good" }, health.failedForGood);
      oldestWaiting.set((health.oldestWaitingAgeMs ?? 0) / 1000);
      lastTickAge.set(health.lastTickAgeMs === null ? Number.NaN : health.lastTickAgeMs / 1000);
      overdue.set(health.overdueUploads);
      return registry.metrics();
    },
  };
}
