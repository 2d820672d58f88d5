import type { Task } from "graphile-worker";
import type { TaskContext } from "./context.js";

/**
 * The crontab's tick: one call of upload_scheduler.run_tick, which recovers stale and failed
 * videos, claims the due ones and enqueues an upload_video job for each, in one transaction.
 */
export function scheduleUploads(ctx: TaskContext): Task {
  return async () => {
    // Outcomes this process is still writing (the database was away) go first: the tick must not
    // fail as interrupted an upload whose outcome is known here.
    await ctx.outcomes.flush(10_000);
    const started = performance.now();
    const tick = await ctx.service.runTick({
      staleAfter: ctx.staleAfter,
      retryAfter: ctx.retryAfter,
      maxAttempts: ctx.maxAttempts,
      interruptedAfter: ctx.interruptedAfter,
    });
    for (const claim of tick.claimed) {
      ctx.logger.info("claimed", {
        video_id: claim.videoId,
        user_id: claim.userId,
        slot_id: claim.slotId,
        slot_date: claim.slotDate,
        attempt: claim.attempt,
      });
    }
    const seconds = (performance.now() - started) / 1000;
    ctx.metrics.ticks.inc();
    ctx.metrics.claims.inc(tick.claimed.length);
    ctx.metrics.tickSeconds.observe(seconds);
    ctx.logger.info("tick", {
      claimed: tick.claimed.length,
      stale_reset: tick.staleReset,
      retried: tick.retried,
      interrupted: tick.interrupted,
      duration_ms: Math.round(seconds * 1000),
    });
  };
}
