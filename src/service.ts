import pg from "pg";
import { DateTime } from "luxon";
import { SchedulerError } from "./errors.js";
import type {
  AttemptOutcome,
  ClaimedVideo,
  Instant,
  OpenSlot,
  SlotStatus,
  TickPreview,
  TickResult,
  TimeInfo,
  UploadSlot,
  Video,
  VideoStatus,
  Weekday,
} from "./types.js";

/** A pg.Pool, or a client (e.g. one inside the caller's transaction). */
export type Queryable = Pick<pg.Pool, "query"> | Pick<pg.ClientBase, "query">;

const DATE_OID = 1082;
// Dates stay ISO strings ("2026-11-30"): a JS Date would put them at local midnight.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === DATE_OID ? (value: string) => value : pg.types.getTypeParser(oid, format as any)) as typeof pg.types.getTypeParser,
};

/** `coalesce($n::timestamptz, now())` receives this: the database's clock when none is given. */
function instant(now: Instant | undefined): string | null {
  if (now === undefined) return null;
  if (typeof now === "string") return now;
  return now instanceof Date ? now.toISOString() : (now.toISO() ?? null);
}

function inZone(value: Date | null, zone: string): DateTime | null {
  return value ? DateTime.fromJSDate(value, { zone }) : null;
}

function toVideo(row: any): Video {
  const zone: string = row.time_zone;
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status as VideoStatus,
    title: row.title,
    sourcePath: row.source_path,
    slotId: row.slot_id,
    slotDate: row.slot_date,
    createdAt: inZone(row.created_at, zone)!,
    claimedAt: inZone(row.claimed_at, zone),
    startedAt: inZone(row.started_at, zone),
    finishedAt: inZone(row.finished_at, zone),
    attempts: row.attempts,
    lastError: row.last_error,
    timeZone: zone,
  };
}

function toSlot(row: any): UploadSlot {
  return {
    id: row.id,
    userId: row.user_id,
    day: row.day as Weekday,
    startTime: row.start_time,
    endTime: row.end_time,
    maxUploads: row.max_uploads,
    slotName: row.slot_name,
    isActive: row.is_active,
    createdAt: inZone(row.created_at, row.time_zone)!,
  };
}

function toOpenSlot(row: any): OpenSlot {
  return {
    slotId: row.slot_id,
    userId: row.user_id,
    slotName: row.slot_name,
    timeZone: row.time_zone,
    localDate: row.local_date,
    localTime: row.local_time,
    maxUploads: row.max_uploads,
    used: row.used,
  };
}

/**
 * Calls a function returning videos once (a CTE is evaluated once) and adds each owner's
 * time zone, in which the timestamps are shown.
 */
function videosOf(call: string): string {
  return `with v as (select * from ${call}) select v.*, u.time_zone from v join public.users u on u.id = v.user_id`;
}

/**
 * The scheduler's SQL API as typed methods. Each method is one call of one function of
 * schema upload_scheduler; the decisions are the database's.
 */
export class UploadSchedulerService {
  /** Which method calls which SQL function; test/service.test.ts keeps this complete. */
  static readonly SQL_FUNCTIONS = {
    current_time_info: "getCurrentTimeInfo",
    active_slots_for_day: "getActiveSlotsForDay",
    is_within_time_slot: "isWithinTimeSlot",
    upload_count_for_slot: "getUploadCountForSlot",
    find_active_slot: "findActiveSlot",
    open_slots: "getOpenSlots",
    find_next_video_to_upload: "findNextVideoToUpload",
    claim_due_videos: "claimDueVideos",
    reset_stale_pending_videos: "resetStalePendingVideos",
    start_upload: "startUpload",
    finish_upload: "finishUpload",
    retry_failed_videos: "retryFailedVideos",
    fail_interrupted_uploads: "failInterruptedUploads",
    retry_video: "retryVideo",
    preview_tick: "previewTick",
    slot_status: "getSlotStatus",
    run_tick: "runTick",
  } as const satisfies Record<string, keyof UploadSchedulerService>;

  constructor(private readonly db: Queryable) {}

  private async rows(text: string, values: unknown[]): Promise<any[]> {
    try {
      return (await this.db.query({ text, values, types })).rows;
    } catch (error) {
      throw SchedulerError.from(error);
    }
  }

  /** The clock as the scheduler sees it in a time zone (default Asia/Kolkata). */
  async getCurrentTimeInfo(timeZone = "Asia/Kolkata", now?: Instant): Promise<TimeInfo> {
    const [row] = await this.rows(
      `select local_timestamp::text, local_date, day, local_time::text, time_zone
       from upload_scheduler.current_time_info($1, coalesce($2::timestamptz, now()))`,
      [timeZone, instant(now)],
    );
    return {
      localTimestamp: DateTime.fromSQL(row.local_timestamp, { zone: row.time_zone }),
      localDate: row.local_date,
      day: row.day,
      localTime: row.local_time,
      timeZone: row.time_zone,
    };
  }

  /** The user's active slots on a weekday (any case), by start time. */
  async getActiveSlotsForDay(userId: string, day: string): Promise<UploadSlot[]> {
    const rows = await this.rows(
      `select s.*, u.time_zone from upload_scheduler.active_slots_for_day($1, $2) s join public.users u on u.id = s.user_id
       order by s.start_time`,
      [userId, day],
    );
    return rows.map(toSlot);
  }

  /** Whether `now` falls inside the slot (its weekday, both ends inclusive, whole seconds). */
  async isWithinTimeSlot(slotId: string, now?: Instant): Promise<boolean> {
    const [row] = await this.rows("select upload_scheduler.is_within_time_slot($1, coalesce($2::timestamptz, now())) as ok", [slotId, instant(now)]);
    return row.ok;
  }

  /** Uploads counted against the slot on today's local date (pending, uploading, success). */
  async getUploadCountForSlot(slotId: string, now?: Instant): Promise<number> {
    const [row] = await this.rows("select upload_scheduler.upload_count_for_slot($1, coalesce($2::timestamptz, now())) as n", [slotId, instant(now)]);
    return row.n;
  }

  /** The user's active slot that holds `now` and still has room, or null. */
  async findActiveSlot(userId: string, now?: Instant): Promise<UploadSlot | null> {
    const [row] = await this.rows(
      `select s.*, u.time_zone from upload_scheduler.find_active_slot($1, coalesce($2::timestamptz, now())) s
       join public.users u on u.id = s.user_id`,
      [userId, instant(now)],
    );
    return row ? toSlot(row) : null;
  }

  /** Every active slot open at `now`, with its use today. */
  async getOpenSlots(now?: Instant): Promise<OpenSlot[]> {
    const rows = await this.rows("select * from upload_scheduler.open_slots(coalesce($1::timestamptz, now()))", [instant(now)]);
    return rows.map(toOpenSlot);
  }

  /** Claims the user's oldest waiting video into the open slot (initiate -> pending), or null. */
  async findNextVideoToUpload(userId: string, now?: Instant): Promise<Video | null> {
    const [row] = await this.rows(
      videosOf(`upload_scheduler.find_next_video_to_upload($1, coalesce($2::timestamptz, now()))`),
      [userId, instant(now)],
    );
    return row ? toVideo(row) : null;
  }

  /** One tick's claim for every user: each open slot's room filled with its owner's oldest videos. */
  async claimDueVideos(options: { now?: Instant; limit?: number } = {}): Promise<Video[]> {
    const rows = await this.rows(
      videosOf(`upload_scheduler.claim_due_videos(coalesce($1::timestamptz, now()), $2)`),
      [instant(options.now), options.limit ?? null],
    );
    return rows.map(toVideo);
  }

  /** Puts videos pending for longer than `olderThan` (interval text) back to initiate; returns how many. */
  async resetStalePendingVideos(olderThan = "30 minutes", now?: Instant): Promise<number> {
    const [row] = await this.rows(
      "select upload_scheduler.reset_stale_pending_videos($1::interval, coalesce($2::timestamptz, now())) as n",
      [olderThan, instant(now)],
    );
    return row.n;
  }

  /** pending -> uploading; counts the attempt. */
  async startUpload(videoId: string, now?: Instant): Promise<Video> {
    const [row] = await this.rows(
      videosOf(`upload_scheduler.start_upload($1, coalesce($2::timestamptz, now()))`),
      [videoId, instant(now)],
    );
    return toVideo(row);
  }

  /** uploading -> success, or -> failed keeping the error. */
  async finishUpload(videoId: string, succeeded: boolean, error?: string | null, now?: Instant): Promise<Video> {
    const [row] = await this.rows(
      videosOf(`upload_scheduler.finish_upload($1, $2, $3, coalesce($4::timestamptz, now()))`),
      [videoId, succeeded, error ?? null, instant(now)],
    );
    return toVideo(row);
  }

  /**
   * The runner's start of an upload: pending -> uploading, the returned video's `attempts` being
   * this attempt's number. A video that comes back with status 'initiate' was given back to the
   * queue (its slot closed more than `startGrace` ago): do not upload it. Raises UPSTS (kind
   * "state") when the video is not pending.
   * Until upload_scheduler.start_upload_attempt(p_video_id, p_start_grace, p_worker) lands this
   * is start_upload, which neither gives videos back nor records the worker.
   */
  async startUploadAttempt(videoId: string, options: { startGrace?: string; worker?: string | null; now?: Instant } = {}): Promise<Video> {
    return this.startUpload(videoId, options.now);
  }

  /**
   * Records how attempt `attempt` of the video ended. Raises UPSTS (kind "state") when that
   * attempt is no longer the video's current upload: already recorded, or failed as interrupted
   * and started again since.
   * Until upload_scheduler.finish_upload_attempt(p_video_id, p_attempt, p_outcome, p_error) lands
   * this is finish_upload, called only while the locked row is still that attempt, uploading.
   */
  async finishUploadAttempt(videoId: string, attempt: number, outcome: AttemptOutcome, error?: string | null, now?: Instant): Promise<Video> {
    const [row] = await this.rows(
      `with current_attempt as (
         select v.id from public.videos v where v.id = $1 and v.attempts = $2 and v.status = 'uploading' for update)
       select f.*, u.time_zone
       from current_attempt c
       cross join lateral upload_scheduler.finish_upload(c.id, $3, $4, coalesce($5::timestamptz, now())) f
       join public.users u on u.id = f.user_id`,
      [videoId, attempt, outcome === "success", outcome === "success" ? null : (error ?? null), instant(now)],
    );
    if (!row) {
      throw new SchedulerError(`Attempt ${attempt} of video ${videoId} is not its current upload: its outcome was recorded already, or the video moved on.`, {
        kind: "state",
        code: "UPSTS",
      });
    }
    return toVideo(row);
  }

  /** failed -> initiate after the cool-down, while attempts < maxAttempts; returns how many. */
  async retryFailedVideos(coolDown = "30 minutes", maxAttempts = 3, now?: Instant): Promise<number> {
    const [row] = await this.rows(
      "select upload_scheduler.retry_failed_videos($1::interval, $2, coalesce($3::timestamptz, now())) as n",
      [coolDown, maxAttempts, instant(now)],
    );
    return row.n;
  }

  /** uploading for longer than `olderThan` -> failed as interrupted; returns how many. */
  async failInterruptedUploads(olderThan = "35 minutes", now?: Instant): Promise<number> {
    const [row] = await this.rows(
      "select upload_scheduler.fail_interrupted_uploads($1::interval, coalesce($2::timestamptz, now())) as n",
      [olderThan, instant(now)],
    );
    return row.n;
  }

  /** failed -> initiate now, whatever its attempts. */
  async retryVideo(videoId: string): Promise<Video> {
    const [row] = await this.rows(videosOf(`upload_scheduler.retry_video($1)`), [videoId]);
    return toVideo(row);
  }

  /** What a tick at `now` would claim, changing nothing. */
  async previewTick(now?: Instant): Promise<TickPreview[]> {
    const rows = await this.rows("select * from upload_scheduler.preview_tick(coalesce($1::timestamptz, now()))", [instant(now)]);
    return rows.map((row) => ({ ...toOpenSlot(row), room: row.room, wouldClaim: row.would_claim }));
  }

  /** The weekly schedule (of one user, or everyone) with today's use and room. */
  async getSlotStatus(userId?: string | null, now?: Instant): Promise<SlotStatus[]> {
    const rows = await this.rows("select * from upload_scheduler.slot_status($1, coalesce($2::timestamptz, now()))", [userId ?? null, instant(now)]);
    return rows.map((row) => ({
      userId: row.user_id,
      slotId: row.slot_id,
      slotName: row.slot_name,
      day: row.day,
      startTime: row.start_time,
      endTime: row.end_time,
      isActive: row.is_active,
      maxUploads: row.max_uploads,
      timeZone: row.time_zone,
      isToday: row.is_today,
      isOpenNow: row.is_open_now,
      usedToday: row.used_today,
      roomToday: row.room_today,
    }));
  }

  /** One whole tick: recovery sweeps, the claim, and one upload_video job per claimed video. */
  async runTick(policy: {
    staleAfter?: string;
    retryAfter?: string;
    maxAttempts?: number;
    interruptedAfter?: string;
    limit?: number | null;
    now?: Instant;
  } = {}): Promise<TickResult> {
    const [row] = await this.rows(
      `select * from upload_scheduler.run_tick($1::interval, $2::interval, $3, $4::interval, $5, coalesce($6::timestamptz, now()))`,
      [
        policy.staleAfter ?? "30 minutes",
        policy.retryAfter ?? "30 minutes",
        policy.maxAttempts ?? 3,
        policy.interruptedAfter ?? "35 minutes",
        policy.limit ?? null,
        instant(policy.now),
      ],
    );
    return {
      interrupted: row.interrupted,
      retried: row.retried,
      staleReset: row.stale_reset,
      claimed: (row.claimed as any[]).map(
        (c): ClaimedVideo => ({ videoId: c.video_id, userId: c.user_id, slotId: c.slot_id, slotDate: c.slot_date, attempt: c.attempt }),
      ),
    };
  }
}
