import type { UploadSchedulerService } from "../src/service.js";
import type { UploadOutcomes } from "../src/outcomes.js";
import type { RunUpload } from "../src/media/isolation.js";
import type { Logger } from "../src/log.js";
import type { SchedulerMetrics } from "../src/metrics.js";

/** What the tasks are given: the service (all SQL goes through it), the plug-in, the policy. */
export interface TaskContext {
  service: UploadSchedulerService;
  /** Starts uploads and records their outcomes, whatever the database is doing. */
  outcomes: UploadOutcomes;
  /** Runs mediaProccess for one video, in a thread of its own. */
  runUpload: RunUpload;
  logger: Logger;
  /** This process's counters and histograms (ticks, claims, uploads by outcome, durations). */
  metrics: SchedulerMetrics;
  /** Aborted when the worker has shut down and the grace period has run out. */
  shutdownSignal: AbortSignal;
  uploadTimeout: string;
  uploadTimeoutMs: number;
  staleAfter: string;
  retryAfter: string;
  maxAttempts: number;
  interruptedAfter: string;
  /** LEASE, as interval text and in ms; HEARTBEAT_EVERY in ms. */
  lease: string;
  leaseMs: number;
  heartbeatMs: number;
  /** RETRY_FAILED_AFTER in ms: the wait of a retry-later or unknown outcome that names no instant. */
  retryAfterMs: number;
}
