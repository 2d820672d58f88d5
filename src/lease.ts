import { SchedulerError } from "./errors.js";
import type { Logger } from "./log.js";
import type { UploadSchedulerService } from "./service.js";

/** The attempt a lease belongs to: begin_attempt's answer, which only this worker holds. */
export interface AttemptRef {
  videoId: string;
  attempt: number;
  token: string;
}

/** The attempt no longer holds its lease: another worker may have the video now. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/** The database's answers that end a lease for good (ran out, attempt ended, not our token). */
const LOST_CODES = new Set(["UPLSE", "UPSUP", "UPTOK"]);

/** Shortest wait between two progress reports written with a heartbeat. */
const PROGRESS_EVERY_MS = 2000;

/**
 * A running attempt's lease, kept by its worker. It renews the lease every `heartbeatMs` (with the
 * bytes sent so far), and knows, on this process's monotonic clock, until when the database
 * surely still holds it: from the start of the last renewal that succeeded, plus the lease. Past
 * that instant (the database was away, the process was paused) the lease counts as lost and
 * `signal` fires, whether or not a renewal has said so; a renewal the database refuses
 * (UPLSE, UPSUP, UPTOK) loses it at once.
 *
 * `fence()` is the plug-in's check before its irreversible step: a renewal that must succeed.
 */
export class AttemptLease {
  private readonly controller = new AbortController();
  private heldUntil: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private bytes: { sent: number | null; total: number | null } = { sent: null, total: null };
  private bytesWritten = 0;
  private renewing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly service: Pick<UploadSchedulerService, "renewLease" | "saveCheckpoint">,
    readonly ref: AttemptRef,
    private readonly options: {
      /** LEASE as PostgreSQL interval text, and in ms. */
      lease: string;
      leaseMs: number;
      heartbeatMs: number;
      logger: Logger;
      /** performance.now() when begin_attempt was sent: the lease it returned runs from later than that. */
      begunAt: number;
    },
  ) {
    this.heldUntil = options.begunAt + options.leaseMs;
    this.armExpiry();
    this.heartbeat = setInterval(() => void this.renew().catch(() => {}), options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Fires once the lease is lost; its reason is a LeaseLostError. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted || performance.now() > this.heldUntil;
  }

  /** Bytes sent so far: written with the next heartbeat (at most every 2 s). */
  progress(sent: number, total: number | null): void {
    if (Number.isFinite(sent) && sent >= 0) this.bytes = { sent: Math.floor(sent), total: total !== null && Number.isFinite(total) && total >= 0 ? Math.floor(total) : null };
  }

  /** Bytes reported so far (for the metrics). */
  get bytesSent(): number {
    return this.bytes.sent ?? 0;
  }

  /**
   * Confirms in the database that the attempt still holds its lease, and extends it; throws a
   * LeaseLostError if it does not, or if the database cannot say so before the lease runs out.
   */
  async fence(): Promise<void> {
    this.throwIfLost();
    await this.renew(true);
    this.throwIfLost();
  }

  /** Keeps the destination's resumable state for the video; throws when the lease is lost. */
  async checkpoint(state: unknown): Promise<void> {
    this.throwIfLost();
    try {
      await this.service.saveCheckpoint(this.ref, state);
    } catch (raw) {
      const error = SchedulerError.from(raw);
      if (LOST_CODES.has(error.code ?? "")) this.lose(error.message);
      throw this.lost ? new LeaseLostError(`checkpoint not kept: ${error.message}`) : error;
    }
  }

  /** Stops renewing (the attempt has ended, or is about to be). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.expiry);
  }

  private throwIfLost(): void {
    if (performance.now() > this.heldUntil) this.lose("its lease ran out before it could be renewed (the database was away, or this process was paused)");
    if (this.controller.signal.aborted) throw this.controller.signal.reason;
  }

  private renew(mustSucceed = false): Promise<void> {
    // One renewal at a time; a fence waits for the one under way, then renews itself.
    const previous = this.renewing ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.renewOnce(mustSucceed));
    this.renewing = next;
    return next.finally(() => {
      if (this.renewing === next) this.renewing = null;
    });
  }

  private async renewOnce(mustSucceed: boolean): Promise<void> {
    if (this.stopped || this.controller.signal.aborted) return;
    const started = performance.now();
    const sendBytes = mustSucceed || performance.now() - this.bytesWritten >= PROGRESS_EVERY_MS;
    // Never wait past the lease: an answer after it could not be trusted anyway.
    const remaining = this.heldUntil - started;
    if (remaining <= 0) {
      this.lose("its lease ran out before it could be renewed (the database was away, or this process was paused)");
      return;
    }
    try {
      await withTimeout(this.service.renewLease(this.ref, this.options.lease, sendBytes ? this.bytes : undefined), remaining);
      if (sendBytes) this.bytesWritten = performance.now();
      this.heldUntil = Math.max(this.heldUntil, started + this.options.leaseMs);
      this.armExpiry();
    } catch (raw) {
      const error = SchedulerError.from(raw);
      if (LOST_CODES.has(error.code ?? "")) {
        this.lose(error.message);
        return;
      }
      this.options.logger.warn("lease_not_renewed", "lease not renewed: trying again with the next heartbeat", {
        video_id: this.ref.videoId, attempt: this.ref.attempt, error: error.message, held_for_ms: Math.max(0, Math.round(this.heldUntil - performance.now())),
      });
      if (mustSucceed) throw new LeaseLostError(`the lease could not be confirmed: ${error.message}`);
    }
  }

  private armExpiry(): void {
    clearTimeout(this.expiry);
    if (this.stopped) return;
    this.expiry = setTimeout(
      () => this.lose("its lease ran out before it could be renewed (the database was away, or this process was paused)"),
      Math.max(0, this.heldUntil - performance.now()),
    );
    this.expiry.unref();
  }

  private lose(why: string): void {
    if (this.controller.signal.aborted) return;
    this.stop();
    this.options.logger.warn("lease_lost", "upload stopped: its attempt lost its lease", { video_id: this.ref.videoId, attempt: this.ref.attempt, reason: why });
    this.controller.abort(new LeaseLostError(`attempt ${this.ref.attempt} of video ${this.ref.videoId} lost its lease: ${why}`));
  }
}

/** `promise`, or a rejection after `ms` (the work itself goes on; its connection has a query timeout). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms)} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
