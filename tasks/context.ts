import type { UploadSchedulerService } from "../src/service.js";
import type { MediaProcess } from "../src/media/plugin.js";
import type { Logger } from "../src/log.js";

/** What the tasks are given: the service (all SQL goes through it), the plug-in, the policy. */
export interface TaskContext {
  service: UploadSchedulerService;
  mediaProcess: MediaProcess;
  logger: Logger;
  /** Aborted when the worker has shut down and the grace period has run out. */
  shutdownSignal: AbortSignal;
  uploadTimeout: string;
  uploadTimeoutMs: number;
  staleAfter: string;
  retryAfter: string;
  maxAttempts: number;
  interruptedAfter: string;
  /** How long after its slot closed an upload may still start (interval text). */
  startGrace: string;
  /** This process, as upload_attempts.worker records it: "host:pid". */
  worker: string;
}
