import type { Logger } from "./log.js";
import type { UploadSchedulerService } from "./service.js";

/** A comparison whose round trip took longer than this is not trusted (its error is up to half of it). */
export const MAX_ROUND_TRIP_MS = 2000;

/** How often a worker compares its clock with the database's. */
export const CLOCK_CHECK_EVERY_MS = 60_000;

/**
 * A worker's clock against the database's. At start, and every minute, it measures the
 * difference, reports it (upload_scheduler.worker_seen, read by health() and the dashboard), and
 * says whether this worker may run the crontab: not while its clock is more than MAX_CLOCK_SKEW
 * off, since Graphile Worker's cron stamps its runs with this process's clock, and a clock ahead
 * would hold every other worker's ticks back. A worker whose clock is right mends what a fast one
 * stamped (heal_crontab). The worker keeps uploading either way: leases run on the database's clock.
 */
export class ClockWatch {
  private timer: NodeJS.Timeout | undefined;
  private skewed: boolean | null = null;
  private lastSkewMs = 0;

  constructor(
    private readonly service: Pick<UploadSchedulerService, "clockSkewMs" | "workerSeen" | "healCrontab">,
    private readonly logger: Logger,
    private readonly options: {
      worker: string;
      maxSkewMs: number;
      /** MAX_CLOCK_SKEW as interval text (heal_crontab's argument). */
      maxSkew: string;
      /** Called when the verdict changes: true when the crontab may run here. */
      onChange: (mayRunCrontab: boolean, skewMs: number) => void | Promise<void>;
    },
  ) {}

  /** Whether the clock was off at the last check (null before the first). */
  get isSkewed(): boolean | null {
    return this.skewed;
  }

  get skewMs(): number {
    return this.lastSkewMs;
  }

  /** Why the crontab does not run here; null when it does. */
  get note(): string | null {
    return this.skewed
      ? `this worker's clock is ${Math.round(this.lastSkewMs / 1000)} s ${this.lastSkewMs > 0 ? "ahead of" : "behind"} the database's (MAX_CLOCK_SKEW ${Math.round(this.options.maxSkewMs / 1000)} s): it does not run the crontab`
      : null;
  }

  /** The first check (awaited at start), then one every minute. */
  async start(): Promise<boolean> {
    await this.check();
    this.timer = setInterval(() => void this.check().catch(() => {}), CLOCK_CHECK_EVERY_MS);
    this.timer.unref();
    return !this.skewed;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Measures, reports, and acts on a change. A database that does not answer changes nothing. */
  async check(): Promise<void> {
    let skew: number;
    const asked = performance.now();
    try {
      skew = await this.service.clockSkewMs();
    } catch {
      return;
    }
    // An answer that took long (the database was away, the machine busy) measures nothing: the
    // clocks are compared at the middle of the round trip, so its length bounds the error.
    if (performance.now() - asked > MAX_ROUND_TRIP_MS) return;
    this.lastSkewMs = skew;
    const skewed = Math.abs(skew) > this.options.maxSkewMs;
    const changed = skewed !== this.skewed;
    this.skewed = skewed;
    if (changed) {
      if (skewed) this.logger.warn("clock_skewed", this.note!, { clock_skew_ms: Math.round(skew), max_clock_skew_ms: this.options.maxSkewMs });
      else this.logger.info("clock_ok", "this worker's clock agrees with the database's: it runs the crontab", { clock_skew_ms: Math.round(skew) });
      await this.options.onChange(!skewed, skew);
    }
    await this.service.workerSeen(this.options.worker, skew, !skewed, this.note).catch(() => {});
    if (!skewed) await this.service.healCrontab(this.options.maxSkew).catch(() => 0);
  }
}
