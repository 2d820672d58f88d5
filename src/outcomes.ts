import { randomUUID } from "node:crypto";
import { SchedulerError } from "./errors.js";
import type { OutcomeJournal, OutcomeRecord } from "./journal.js";
import type { AttemptRef } from "./lease.js";
import type { Logger } from "./log.js";
import type { UploadSchedulerService } from "./service.js";
import type { AttemptOutcome, LeasedOutcome, Video } from "./types.js";

/**
 * written: the database took it; superseded: that attempt is no longer the video's current upload;
 * refused: the database refuses it for good (the video was deleted); kept: left in the journal.
 */
export type Recorded = "written" | "superseded" | "refused" | "kept";

/** An attempt begun by this worker: the video, the attempt its token proves, and when it was asked for. */
export interface Begun {
  video: Video;
  ref: AttemptRef;
  /** Where it goes (the video's, else its user's destination; null: MEDIA_PROCESS_MODULE), and its user's credentials name. */
  destination: string | null;
  credentials: string | null;
  /** performance.now() when begin_attempt was sent: the lease runs from later than that. */
  begunAt: number;
}

/** How long the first write of an outcome may take before the outcome is journaled beside it. */
export const FIRST_WRITE_MS = 1000;

/**
 * Begins attempts and records their outcomes, whatever the database is doing.
 *
 * An outcome goes to the database first (end_attempt, which only the attempt's token can call).
 * If the database does not take it within FIRST_WRITE_MS, it is journaled under DATA_DIR and
 * written again until the database takes it; a process that dies first leaves it to the next
 * start's replay. While an outcome can be neither written nor journaled (the database away and
 * DATA_DIR full), the worker is *blocked*: it takes no job until the outcome is safe again.
 */
export class UploadOutcomes {
  private readonly writing = new Set<Promise<Recorded>>();
  private readonly closing = new AbortController();
  /** Outcomes neither written nor journaled. */
  private readonly unsafe = new Set<string>();
  private readonly blockedListeners = new Set<(blocked: boolean, why: string | null) => void>();
  private blockedWhy: string | null = null;

  constructor(
    private readonly service: UploadSchedulerService,
    private readonly journal: OutcomeJournal,
    private readonly logger: Logger,
    private readonly options: {
      worker: string;
      startGrace: string;
      lease: string;
      retryDelayMs?: number;
      maxRetryDelayMs?: number;
      firstWriteMs?: number;
      /** Called when an upload is not started because its slot closed longer than startGrace ago. */
      onLate?: () => void;
    },
  ) {}

  get worker(): string {
    return this.options.worker;
  }

  /** Why this worker takes no job now (an outcome it can neither write nor journal); null when it takes jobs. */
  get blocked(): string | null {
    return this.blockedWhy;
  }

  /** Called with each change of `blocked`. */
  onBlocked(listener: (blocked: boolean, why: string | null) => void): () => void {
    this.blockedListeners.add(listener);
    return () => this.blockedListeners.delete(listener);
  }

  /**
   * pending -> uploading for this worker, with a lease and a token. Null when this worker must not
   * upload the video: it was given back to the queue, another job started it, or it is gone. The
   * token is chosen here, so a start whose answer was lost with its connection is asked again
   * with it, and returns the attempt if it had begun.
   */
  async begin(videoId: string): Promise<Begun | null> {
    const token = randomUUID();
    let answerLost = false;
    for (let attempt = 1; ; attempt++) {
      const begunAt = performance.now();
      try {
        const begun = await this.service.beginAttempt(videoId, { worker: this.worker, lease: this.options.lease, startGrace: this.options.startGrace, token });
        if (begun) {
          if (answerLost) this.logger.info("upload_start_lost", "upload started (its start's answer was lost with the connection, and asked again)", { video_id: videoId, attempt: begun.attempt });
          return {
            video: begun.video, ref: { videoId, attempt: begun.attempt, token: begun.token }, begunAt,
            destination: begun.destination, credentials: begun.credentials,
          };
        }
        this.logger.info("upload_late", "upload given back to the queue: its slot closed longer than START_GRACE ago", {
          video_id: videoId,
          start_grace: this.options.startGrace,
        });
        this.options.onLate?.();
        return null;
      } catch (raw) {
        const error = SchedulerError.from(raw);
        if (error.isVideoGone) {
          this.logger.warn("upload_video_gone", "upload skipped: the video no longer exists", { video_id: videoId, code: error.code, reason: error.message });
          return null;
        }
        if (error.code === "UPSTS") {
          // Another job started it, or it was reset: that job or the next claim owns it now.
          this.logger.warn("upload_skipped", "upload skipped", { video_id: videoId, reason: error.message });
          return null;
        }
        if (error.kind !== "connection" || this.closing.signal.aborted) throw error;
        answerLost = true;
        await this.pause(attempt);
      }
    }
  }

  /**
   * Records what the worker knows of an attempt: written to the database first; journaled if the
   * database does not take it at once; retried until it does. Resolves once it is written,
   * refused for good, or, after close(), kept in the journal for the next start.
   */
  async record(
    ref: AttemptRef,
    outcome: LeasedOutcome,
    details: { error?: string | null; result?: unknown; retryAt?: Date | null } = {},
  ): Promise<Recorded> {
    const record: OutcomeRecord = {
      videoId: ref.videoId, attempt: ref.attempt, token: ref.token, outcome, error: details.error ?? null,
      ...(details.result === undefined ? {} : { result: details.result }),
      retryAt: details.retryAt ? details.retryAt.toISOString() : null,
      at: new Date().toISOString(), worker: this.worker,
    };
    return this.write(record, true);
  }

  /** Writes outcomes adopted from the journal of a process that died. */
  async replay(records: OutcomeRecord[]): Promise<void> {
    if (!records.length) return;
    this.logger.info("outcomes_replaying", "replaying outcomes journaled by a process that stopped before writing them", { outcomes: records.length });
    await Promise.all(records.map((record) => this.write(record, false)));
  }

  /** Waits (at most `ms`) until the outcomes being written now are written or refused. */
  async flush(ms: number): Promise<void> {
    if (!this.writing.size) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.writing]),
      new Promise((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  /** Stops retrying now: outcomes not written yet stay in the journal, and the next start writes them. */
  abandon(): void {
    this.closing.abort();
  }

  /** abandon(), then closes the journal once every write has ended. */
  async close(): Promise<void> {
    this.abandon();
    await Promise.allSettled([...this.writing]);
    const left = await this.journal.close().catch(() => this.journal.pending);
    if (left.length) {
      this.logger.warn("outcomes_kept_in_journal", "outcomes kept in the journal for the next start", { outcomes: left.length, journal: this.journal.file });
    }
  }

  private write(record: OutcomeRecord, fresh: boolean): Promise<Recorded> {
    const writing = this.writeUntilDone(record, fresh);
    this.writing.add(writing);
    return writing.finally(() => this.writing.delete(writing));
  }

  private async writeUntilDone(record: OutcomeRecord, fresh: boolean): Promise<Recorded> {
    const fields = { video_id: record.videoId, attempt: record.attempt, outcome: record.outcome };
    const key = `${record.videoId}/${record.attempt}`;
    // A fresh outcome is journaled only when its first write does not end in time; a replayed one is in a journal already.
    let journaled = !fresh;
    let journaling: Promise<void> | null = null;
    const journalIt = () =>
      (journaling ??= this.journal.append(record).then(
        () => {
          journaled = true;
          this.markSafe(key);
          this.logger.warn("outcome_kept", "outcome not written yet: journaled, and retried until the database takes it", { ...fields, journal: this.journal.file });
        },
        (error: NodeJS.ErrnoException) => {
          this.markUnsafe(key, `an outcome could be neither written to the database nor journaled under DATA_DIR (${error.code ?? error.message})`);
          journaling = null;
        },
      ));
    const firstWrite = setTimeout(() => void journalIt(), this.options.firstWriteMs ?? FIRST_WRITE_MS);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.endAttempt(record);
          if (journaled) await this.journal.settle(record).catch(() => {});
          if (attempt > 1) this.logger.info("outcome_written", "outcome written", { ...fields, tries: attempt });
          return "written";
        } catch (raw) {
          const error = SchedulerError.from(raw);
          if (error.code === "UPSUP" || error.code === "UPSTS") {
            this.logger.warn("outcome_superseded", "outcome not written: that attempt is no longer the video's current upload", { ...fields, reason: error.message });
            if (journaled) await this.journal.settle(record).catch(() => {});
            return "superseded";
          }
          if (error.isVideoGone || error.code === "UPTOK") {
            // No retry changes the answer (the video was deleted while it uploaded; the token is not
            // this attempt's): dropped, so that it never holds up this worker, nor the next one's replay.
            this.logger.error("outcome_refused", "outcome not written: the database refuses it for good", { ...fields, code: error.code, reason: error.message });
            if (journaled) await this.journal.settle(record).catch(() => {});
            return "refused";
          }
          if (!journaled) {
            clearTimeout(firstWrite);
            await journalIt();
          }
          if (this.closing.signal.aborted) return "kept";
          if (error.kind !== "connection") {
            this.logger.error("outcome_still_unwritten", "outcome still not written", { ...fields, tries: attempt, error: error.message });
          }
          await this.pause(attempt);
          // The journal may have room again: try it before the next write.
          if (!journaled) await journalIt();
        }
      }
    } finally {
      clearTimeout(firstWrite);
      this.markSafe(key);
    }
  }

  private async endAttempt(record: OutcomeRecord): Promise<void> {
    if (record.token) {
      await this.service.endAttempt({ videoId: record.videoId, attempt: record.attempt, token: record.token }, record.outcome, {
        error: record.error, result: record.result, retryAt: record.retryAt ? new Date(record.retryAt) : null,
      });
    } else {
      // Journaled by a version before leases: its attempt has no token.
      await this.service.finishUploadAttempt(record.videoId, record.attempt, record.outcome as AttemptOutcome, record.error);
    }
  }

  private markUnsafe(key: string, why: string): void {
    this.unsafe.add(key);
    if (this.blockedWhy !== null) return;
    this.blockedWhy = why;
    this.logger.error("worker_blocked", `taking no jobs: ${why}`, { outcomes: this.unsafe.size });
    for (const listener of this.blockedListeners) listener(true, why);
  }

  private markSafe(key: string): void {
    if (!this.unsafe.delete(key) || this.unsafe.size || this.blockedWhy === null) return;
    this.blockedWhy = null;
    this.logger.info("worker_unblocked", "taking jobs again: every outcome is written or journaled");
    for (const listener of this.blockedListeners) listener(false, null);
  }

  /**
   * Between tries. The pool itself waits while the database is unreachable; this only spaces out
   * errors that keep coming back with the database up.
   */
  private pause(attempt: number): Promise<void> {
    const min = this.options.retryDelayMs ?? 100;
    const ms = Math.min(min * 2 ** (attempt - 1), this.options.maxRetryDelayMs ?? 30_000);
    const signal = this.closing.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
