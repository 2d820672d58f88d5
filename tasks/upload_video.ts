import type { Task } from "graphile-worker";
import { AttemptLease } from "../src/lease.js";
import { credentialsEnv, outcomeOf } from "../src/media/isolation.js";
import type { RecordedOutcome } from "../src/types.js";
import type { TaskContext } from "./context.js";

/**
 * An earlier attempt whose outcome is not known (its worker died, its lease lapsed, it was cut
 * off or timed out, reconcile could not tell): the platform may have the upload already, so the
 * plug-in's reconcile is asked first.
 */
const UNKNOWN_OUTCOMES: ReadonlySet<RecordedOutcome> = new Set(["interrupted", "unknown", "timed_out", "aborted"]);

/**
 * Uploads one claimed video: begin an attempt (pending -> uploading) with a lease that a
 * heartbeat renews, reconcile first when an earlier attempt's outcome is unknown, run
 * mediaProccess in a thread of its own with a signal that fires on timeout, shutdown or a lost
 * lease, and record the outcome with the attempt's token. An attempt that lost its lease reports
 * nothing but a success: the sweep interrupts it, and the next attempt reconciles.
 */
export function uploadVideo(ctx: TaskContext): Task {
  return async (payload) => {
    const { video_id: videoId } = payload as { video_id: string };
    if (ctx.outcomes.blocked) {
      // This worker cannot keep an outcome safe now: the video waits (STALE_PENDING_AFTER puts it
      // back in the queue) rather than being uploaded by a worker that could lose what it learns.
      throw new Error(`this worker takes no upload now: ${ctx.outcomes.blocked}`);
    }
    // Null: not started (another job has it, its slot closed more than START_GRACE ago, it is gone).
    const begun = await ctx.outcomes.begin(videoId);
    if (!begun) return;
    const { video, ref } = begun;

    const fields = { video_id: video.id, user_id: video.userId, slot_id: video.slotId, attempt: ref.attempt };
    const lease = new AttemptLease(ctx.service, ref, {
      lease: ctx.lease, leaseMs: ctx.leaseMs, heartbeatMs: ctx.heartbeatMs, logger: ctx.logger, begunAt: begun.begunAt,
    });
    const timeout = AbortSignal.timeout(ctx.uploadTimeoutMs);
    const signal = AbortSignal.any([timeout, ctx.shutdownSignal, lease.signal]);
    const started = performance.now();
    let sentBefore = 0;
    const run = await ctx
      .runUpload(video, {
        signal,
        attempt: ref.attempt,
        idempotencyKey: `upload-scheduler:${video.id}`,
        logger: ctx.logger.child({ video_id: video.id }),
        resume: video.resumeState ?? null,
        destination: begun.destination,
        env: credentialsEnv(process.env, begun.credentials),
        reconcileFirst: video.lastOutcome !== null && UNKNOWN_OUTCOMES.has(video.lastOutcome),
        lease: {
          fence: () => lease.fence(),
          checkpoint: (state) => lease.checkpoint(state),
          progress: (sent, total) => {
            lease.progress(sent, total);
            if (sent > sentBefore) ctx.metrics.uploadedBytes.inc(sent - sentBefore);
            sentBefore = Math.max(sentBefore, sent);
          },
        },
      })
      .finally(() => lease.stop());
    const { outcome, error, retryAt } = outcomeOf(run, {
      timedOut: timeout.aborted,
      shutDown: ctx.shutdownSignal.aborted,
      uploadTimeout: ctx.uploadTimeout,
    });
    const duration_ms = Math.round(performance.now() - started);
    if (outcome !== "success" && lease.lost) {
      // Another worker may hold the video now: this attempt says nothing but what it knows for sure.
      ctx.metrics.uploads.inc({ outcome: "lease_lost" });
      ctx.logger.warn("upload_lease_lost", "upload stopped: its attempt lost its lease; the sweep interrupts it and the next attempt reconciles", {
        ...fields, duration_ms, error,
      });
      return;
    }
    ctx.metrics.uploads.inc({ outcome });
    ctx.metrics.uploadSeconds.observe({ outcome }, duration_ms / 1000);
    const result = run.settled === "resolved" ? run.value : undefined;
    if (run.settled === "resolved" && run.reconciled) {
      ctx.logger.info("upload_reconciled", "uploaded already: the destination has it (reconciled), nothing sent", { ...fields, duration_ms });
    } else if (outcome === "success") {
      ctx.logger.info("uploaded", "uploaded", { ...fields, duration_ms });
    } else {
      ctx.logger.error("upload_failed", "upload failed", { ...fields, duration_ms, outcome, error });
    }
    // A retry later or an unknown outcome without an instant waits the retry cool-down.
    const when = outcome === "retry_later" || outcome === "unknown" ? retryAt ?? new Date(Date.now() + ctx.retryAfterMs) : null;
    await ctx.outcomes.record(ref, outcome, { error, result: result === undefined ? undefined : jsonable(result), retryAt: when });
  };
}

/** What mediaProccess resolved to, as JSON the database keeps (upload_attempts.result), or null. */
function jsonable(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : JSON.parse(text);
  } catch {
    return { value: String(value) };
  }
}
