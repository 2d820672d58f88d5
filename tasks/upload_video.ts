import type { Task } from "graphile-worker";
import { SchedulerError } from "../src/errors.js";
import { forPlugin } from "../src/media/plugin.js";
import type { TaskContext } from "./context.js";

/**
 * Uploads one claimed video: start it (pending -> uploading), run mediaProccess with a
 * signal that fires on timeout or shutdown, and record the outcome.
 */
export function uploadVideo(ctx: TaskContext): Task {
  return async (payload) => {
    const { video_id: videoId } = payload as { video_id: string };
    let video;
    try {
      video = await ctx.service.startUploadAttempt(videoId, { startGrace: ctx.startGrace, worker: ctx.worker });
    } catch (error) {
      // Another job started it, or it was reset: that job or the next claim owns it now.
      if (error instanceof SchedulerError && error.kind === "state") {
        ctx.logger.warn("upload skipped", { video_id: videoId, reason: error.message });
        return;
      }
      throw error;
    }

    if (video.status !== "uploading") {
      // Its slot closed more than START_GRACE ago: the database put it back in the queue.
      ctx.logger.warn("upload not started: its slot has closed", { video_id: video.id, user_id: video.userId, start_grace: ctx.startGrace });
      return;
    }

    const fields = { video_id: video.id, user_id: video.userId, slot_id: video.slotId, attempt: video.attempts };
    const timeout = AbortSignal.timeout(ctx.uploadTimeoutMs);
    const signal = AbortSignal.any([timeout, ctx.shutdownSignal]);
    const started = performance.now();
    try {
      await untilAborted(
        ctx.mediaProcess(forPlugin(video), {
          signal,
          attempt: video.attempts,
          idempotencyKey: `upload-scheduler:${video.id}`,
          logger: ctx.logger.child({ video_id: video.id }),
        }),
        signal,
      );
    } catch (error) {
      const outcome = timeout.aborted ? "timed_out" : signal.aborted ? "aborted" : "failed";
      const reason = timeout.aborted
        ? `upload timed out after ${ctx.uploadTimeout}`
        : signal.aborted
          ? "upload aborted: the worker shut down"
          : errorMessage(error);
      await ctx.service.finishUploadAttempt(video.id, video.attempts, outcome, reason);
      ctx.logger.error("upload failed", { ...fields, duration_ms: Math.round(performance.now() - started), error: reason });
      return;
    }
    await ctx.service.finishUploadAttempt(video.id, video.attempts, "success");
    ctx.logger.info("uploaded", { ...fields, duration_ms: Math.round(performance.now() - started) });
  };
}

/** Settles with the promise, or rejects as soon as the signal fires, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return typeof error === "string" && error ? error : `upload failed: ${String(error)}`;
}
