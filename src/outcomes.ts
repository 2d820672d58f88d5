import { SchedulerError } from "./errors.js";
import type { OutcomeJournal, OutcomeRecord } from "./journal.js";
import type { Logger } from "./log.js";
import type { UploadSchedulerService } from "./service.js";
import type { AttemptOutcome, Video } from "./types.js";

/**
 * written: the database took it; superseded: that attempt is no longer the video's current upload;
 * refused: the database refuses it for good (the video was deleted); kept: left in the journal.
 */
export type Recorded = "written" | "superseded" | "refused" | "kept";

/**
 * Starts uploads and records their outcomes, whatever the database is doing. An outcome, once
 * known, is journaled first, then written; while the database is away it is retried (the pool
 * waits for the database), and if the process dies first the next start replays the journal.
 */
export class UploadOutcomes {
  private readonly writing = new Set<Promise<Recorded>>();
  private readonly closing = new AbortController();

  constructor(
    private readonly service: UploadSchedulerService,
    private readonly journal: OutcomeJournal,
    private readonly logger: Logger,
    private readonly options: {
      worker: string;
      startGrace: string;
      retryDelayMs?: number;
      maxRetryDelayMs?: number;
      /** Called when an upload is not started because its slot closed longer than startGrace ago. */
      onLate?: () => void;
    },
  ) {}

  get worker(): string {
    return this.options.worker;
  }

  /**
   * pending -> uploading for this worker. Null when this worker must not upload the video: it
   * was given back to the queue, or another job started it. A start whose answer was lost with
   * its connection is asked again; if it had happened, the video is uploading under this worker's
   * name (videos.worker) and is returned.
   */
  async start(videoId: string): Promise<Video | null> {
    let answerLost = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const video = await this.service.startUploadAttempt(videoId, { startGrace: this.options.startGrace, worker: this.worker });
        if (video.status === "uploading") return video;
        this.logger.info("upload_late", "upload given back to the queue: its slot closed longer than START_GRACE ago", {
          video_id: videoId,
          start_grace: this.options.startGrace,
        });
        this.options.onLate?.();
        return null;
      } catch (raw) {
        const error = SchedulerError.from(raw);
        if (error.isVideoGone) {
          // The video is gone (deleted since its claim): nothing to upload.
          this.logger.warn("upload_video_gone", "upload skipped: the video no longer exists", { video_id: videoId, code: error.code, reason: error.message });
          return null;
        }
        if (error.code === "UPSTS") {
          if (answerLost) {
            // The first try's answer was lost with its connection: if that start happened, the video
            // is uploading under this worker's name, and this worker goes on with it.
            const video = await this.service.getVideo(videoId).catch(() => null);
            if (video?.status === "uploading" && video.worker === this.worker) {
              this.logger.info("upload_start_recovered", "upload started (its start's answer was lost with the connection)", { video_id: videoId, attempt: video.attempts });
              return video;
            }
            this.logger.warn("upload_taken_elsewhere", "upload not started: another worker or the queue has it now", { video_id: videoId, reason: error.message });
          } else {
            // Another job started it, or it was reset: that job or the next claim owns it now.
            this.logger.warn("upload_skipped", "upload skipped", { video_id: videoId, reason: error.message });
          }
          return null;
        }
        if (error.kind !== "connection" || this.closing.signal.aborted) throw error;
        answerLost = true;
        await this.pause(attempt);
      }
    }
  }

  /**
   * Journals the outcome of an attempt, then writes it to the database, waiting for the database
   * while it is away. Resolves once it is written, refused for good (the attempt is no longer the
   * video's current upload), or, after close(), kept in the journal for the next start.
   */
  async record(videoId: string, attempt: number, outcome: AttemptOutcome, error: string | null): Promise<Recorded> {
    const record: OutcomeRecord = { videoId, attempt, outcome, error, at: new Date().toISOString(), worker: this.worker };
    await this.journal.append(record);
    return this.write(record);
  }

  /** Writes outcomes adopted from the journal of a process that died. */
  async replay(records: OutcomeRecord[]): Promise<void> {
    if (!records.length) return;
    this.logger.info("outcomes_replaying", "replaying outcomes journaled by a process that stopped before writing them", { outcomes: records.length });
    await Promise.all(records.map((record) => this.write(record)));
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
    const left = await this.journal.close();
    if (left.length) {
      this.logger.warn("outcomes_kept_in_journal", "outcomes kept in the journal for the next start", { outcomes: left.length, journal: this.journal.file });
    }
  }

  private write(record: OutcomeRecord): Promise<Recorded> {
    const writing = this.writeUntilDone(record);
    this.writing.add(writing);
    return writing.finally(() => this.writing.delete(writing));
  }

  private async writeUntilDone(record: OutcomeRecord): Promise<Recorded> {
    const fields = { video_id: record.videoId, attempt: record.attempt, outcome: record.outcome };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.service.finishUploadAttempt(record.videoId, record.attempt, record.outcome, record.error);
        await this.journal.settle(record);
        if (attempt > 1) this.logger.info("outcome_written", "outcome written", { ...fields, tries: attempt });
        return "written";
      } catch (raw) {
        const error = SchedulerError.from(raw);
        if (error.code === "UPSUP" || error.code === "UPSTS") {
          this.logger.warn("outcome_superseded", "outcome not written: that attempt is no longer the video's current upload", { ...fields, reason: error.message });
          await this.journal.settle(record);
          return "superseded";
        }
        if (error.isVideoGone) {
          // No retry changes the answer (the video was deleted while it uploaded): dropped, so
          // that it never holds up this worker, nor the replay of the next one. Any other refusal
          // (a scheduler bug, a lock held too long) keeps the outcome and retries it.
          this.logger.error("outcome_refused", "outcome not written: the video no longer exists", { ...fields, code: error.code, reason: error.message });
          await this.journal.settle(record);
          return "refused";
        }
        if (this.closing.signal.aborted) return "kept";
        if (attempt === 1) {
          this.logger.warn("outcome_kept", "outcome not written yet: kept, and retried until the database takes it", { ...fields, error: error.message });
        } else if (error.kind !== "connection") {
          this.logger.error("outcome_still_unwritten", "outcome still not written", { ...fields, tries: attempt, error: error.message });
        }
        await this.pause(attempt);
      }
    }
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
