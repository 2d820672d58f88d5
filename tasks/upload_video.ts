import type { Task } from "graphile-worker";
import { outcomeOf } from "../src/media/isolation.js";
import type { TaskContext } from "./context.js";

/**
 * Uploads one claimed video: start it (pending -> uploading), run mediaProccess in a thread of
 * its own with a signal that fires on timeout or shutdown, and record the outcome.
 */
export function uploadVideo(ctx: TaskContext): Task {
  return async (payload) => {
    const { video_id: videoId } = payload as { video_id: string };
    // Null: not started (another job has it, or its slot closed more than START_GRACE ago).
    const video = await ctx.outcomes.start(videoId);
    if (!video) return;

    const fields = { video_id: video.id, user_id: video.userId, slot_id: video.slotId, attempt: video.attempts };
    const timeout = AbortSignal.timeout(ctx.uploadTimeoutMs);
    const signal = AbortSignal.any([timeout, ctx.shutdownSignal]);
    const started = performance.now();
    const run = await ctx.runUpload(video, {
      signal,
      attempt: video.attempts,
      idempotencyKey: `upload-scheduler:${video.id}`,
      logger: ctx.logger.child({ video_id: video.id }),
    });
    const { outcome, error } = outcomeOf(run, {
      timedOut: timeout.aborted,
      shutDown: ctx.shutdownSignal.aborted,
      uploadTimeout: ctx.uploadTimeout,
    });
    const duration_ms = Math.round(performance.now() - started);
    ctx.metrics.uploads.inc({ outcome });
    ctx.metrics.uploadSeconds.observe({ outcome }, duration_ms / 1000);
    if (outcome === "success") ctx.logger.info("uploaded", "uploaded", { ...fields, duration_ms });
    else ctx.logger.error("upload_failed", "upload failed", { ...fields, duration_ms, outcome, error });
    await ctx.outcomes.record(video.id, video.attempts, outcome, error);
  };
}
