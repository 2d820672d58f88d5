import pg from "pg";
import { DateTime } from "luxon";
import { SchedulerError } from "./errors.js";
import type {
  LimitStatus,
  AttemptOutcome,
  AttemptRecord,
  ClaimedVideo,
  ScheduleException,
  Health,
  ScheduleSlot,
  ScheduleLimit,
  ScheduleWeek,
  UpcomingUpload,
  UpcomingWindow,
  User,
  Instant,
  LeasedAttempt,
  LeasedOutcome,
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
export const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === DATE_OID ? (value: string) => value : pg.types.getTypeParser(oid, format as any)) as typeof pg.types.getTypeParser,
};

/** `coalesce($n::timestamptz, now())` receives this: the database's clock when none is given. */
function instant(now: Instant | undefined): string | null {
  if (now === undefined) return null;
  if (typeof now === "string") return now;
  return now instanceof Date ? now.toISOString() : (now.toISO() ?? null);
}

export function inZone(value: Date | null, zone: string): DateTime | null {
  return value ? DateTime.fromJSDate(value, { zone }) : null;
}

export function toVideo(row: any): Video {
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
    lastOutcome: row.last_outcome,
    worker: row.worker,
    remoteId: row.remote_id ?? null,
    remoteUrl: row.remote_url ?? null,
    bytesSent: row.bytes_sent === null || row.bytes_sent === undefined ? null : Number(row.bytes_sent),
    bytesTotal: row.bytes_total === null || row.bytes_total === undefined ? null : Number(row.bytes_total),
    resumeState: row.resume_state ?? null,
    freeAttempts: row.free_attempts ?? 0,
    metadata: row.metadata ?? null,
    destination: row.destination ?? null,
    notBefore: inZone(row.not_before ?? null, zone),
    queuePriority: row.queue_priority ?? 0,
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
    minInterval: row.min_interval ?? null,
    createdAt: inZone(row.created_at, row.time_zone)!,
  };
}

export function toUser(row: any): User {
  return {
    id: row.id,
    name: row.name ?? null,
    timeZone: row.time_zone,
    createdAt: inZone(row.created_at, row.time_zone)!,
    uploadsPausedUntil: row.uploads_paused_until === null ? null : pausedUntil(row.uploads_paused_until, row.time_zone),
    pauseReason: row.pause_reason,
    heldUntil: inZone(row.held_until ?? null, row.time_zone),
    holdReason: row.hold_reason ?? null,
    destination: row.destination ?? null,
    credentials: row.credentials ?? null,
  };
}

/** 'infinity' comes back from pg as the number Infinity: a pause until resumed. */
function pausedUntil(value: Date | number, zone: string): DateTime | "infinity" {
  return typeof value === "number" || Number.isNaN((value as Date).getTime?.()) ? "infinity" : DateTime.fromJSDate(value as Date, { zone });
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
    start_upload_attempt: "startUploadAttempt",
    finish_upload: "finishUpload",
    finish_upload_attempt: "finishUploadAttempt",
    retry_failed_videos: "retryFailedVideos",
    fail_interrupted_uploads: "failInterruptedUploads",
    retry_video: "retryVideo",
    reconcile: "reconcileVideo",
    move_to_front: "moveToFront",
    move_to_position: "moveToPosition",
    limit_status: "limitStatus",
    withdraw_video: "withdrawVideo",
    preview_tick: "previewTick",
    slot_status: "getSlotStatus",
    set_schedule: "setSchedule",
    get_schedule: "getSchedule",
    pause_uploads: "pauseUploads",
    resume_uploads: "resumeUploads",
    upcoming_uploads: "upcomingUploads",
    upcoming_windows: "upcomingWindows",
    health: "health",
    run_tick: "runTick",
    begin_attempt: "beginAttempt",
    running_attempt_pids: "runningAttemptPids",
    renew_lease: "renewLease",
    save_checkpoint: "saveCheckpoint",
    end_attempt: "endAttempt",
    interrupt_dead_workers: "interruptDeadWorkers",
    worker_seen: "workerSeen",
    heal_crontab: "healCrontab",
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

  /**
   * pending -> uploading for `worker` ("host:pid"); the returned video's `attempts` is the attempt's
   * number. When its slot closed more than `startGrace` (interval text, default 5 minutes) ago,
   * the video goes back to the queue instead and comes back with status "initiate": do not upload it.
   */
  async startUploadAttempt(videoId: string, options: { startGrace?: string; worker?: string | null; now?: Instant } = {}): Promise<Video> {
    const [row] = await this.rows(
      videosOf(`upload_scheduler.start_upload_attempt($1, $2::interval, $3, coalesce($4::timestamptz, now()))`),
      [videoId, options.startGrace ?? "5 minutes", options.worker ?? null, instant(options.now)],
    );
    return toVideo(row);
  }

  /**
   * Ends attempt `attempt` of an uploading video. Repeating the outcome already recorded returns
   * quietly (safe to retry after a lost acknowledgement); a SchedulerError of kind "conflict" (UPSUP) says the
   * attempt is no longer running (e.g. it was failed as interrupted).
   */
  async finishUploadAttempt(videoId: string, attempt: number, outcome: AttemptOutcome, error?: string | null, now?: Instant): Promise<Video> {
    const [row] = await this.rows(
      videosOf(`upload_scheduler.finish_upload_attempt($1, $2, $3, $4, coalesce($5::timestamptz, now()))`),
      [videoId, attempt, outcome, error ?? null, instant(now)],
    );
    return toVideo(row);
  }

  /**
   * pending -> uploading for `worker` ("host:pid"), with a lease of `lease` (interval text) on the
   * database's clock and a token only this worker holds. Null when the video went back to the
   * queue instead (its slot closed more than `startGrace` ago): do not upload it.
   */
  async beginAttempt(videoId: string, options: { worker: string; lease: string; startGrace?: string; token?: string; now?: Instant }): Promise<LeasedAttempt | null> {
    const [row] = await this.rows(
      `with b as (select * from upload_scheduler.begin_attempt($1, $2, $3::interval, $4::interval, coalesce($5::timestamptz, now()), $6::uuid))
       select (b.video).*, b.attempt as begun_attempt, b.token, b.lease_until, u.time_zone,
              coalesce((b.video).destination, u.destination) as effective_destination, u.credentials
       from b join public.users u on u.id = (b.video).user_id`,
      [videoId, options.worker, options.lease, options.startGrace ?? "5 minutes", instant(options.now), options.token ?? null],
    );
    if (!row.token) return null;
    return {
      video: toVideo(row), attempt: row.begun_attempt, token: row.token, leaseUntil: row.lease_until,
      destination: row.effective_destination ?? null, credentials: row.credentials ?? null,
    };
  }

  /** The process ids of this host that have an attempt running (to find those that are gone). */
  async runningAttemptPids(host: string): Promise<number[]> {
    const [row] = await this.rows("select upload_scheduler.running_attempt_pids($1) as pids", [host]);
    return row.pids ?? [];
  }

  /**
   * The heartbeat and the fence: extends the attempt's lease by `lease` from now (the database's
   * clock) and records the bytes sent. A SchedulerError UPLSE says the lease had run out, UPSUP
   * that the attempt ended, UPTOK that the token is not this attempt's: stop the upload.
   */
  async renewLease(a: { videoId: string; attempt: number; token: string }, lease: string, bytes?: { sent: number | null; total: number | null }): Promise<Date> {
    const [row] = await this.rows("select upload_scheduler.renew_lease($1, $2, $3, $4::interval, $5, $6) as until", [
      a.videoId, a.attempt, a.token, lease, bytes?.sent ?? null, bytes?.total ?? null,
    ]);
    return row.until;
  }

  /** Keeps the destination's resumable state for the video (the next attempt's context.resume). */
  async saveCheckpoint(a: { videoId: string; attempt: number; token: string }, state: unknown): Promise<void> {
    await this.rows("select upload_scheduler.save_checkpoint($1, $2, $3, $4::jsonb)", [a.videoId, a.attempt, a.token, JSON.stringify(state ?? null)]);
  }

  /**
   * Ends a leased attempt with what the worker knows (end_attempt): repeating the recorded outcome
   * returns quietly; a known outcome is kept even if a sweep called the attempt interrupted, while
   * no later attempt started.
   */
  async endAttempt(
    a: { videoId: string; attempt: number; token: string },
    outcome: LeasedOutcome,
    options: { error?: string | null; result?: unknown; retryAt?: Date | null; now?: Instant } = {},
  ): Promise<Video> {
    const [row] = await this.rows(
      videosOf(`upload_scheduler.end_attempt($1, $2, $3, $4, $5, $6::jsonb, $7, coalesce($8::timestamptz, now()))`),
      [a.videoId, a.attempt, a.token, outcome, options.error ?? null,
       options.result === undefined ? null : JSON.stringify(options.result), options.retryAt ?? null, instant(options.now)],
    );
    return toVideo(row);
  }

  /** Ends at once, as interrupted, the running attempts of this host's processes that are gone. */
  async interruptDeadWorkers(host: string, deadPids: number[]): Promise<number> {
    const [row] = await this.rows("select upload_scheduler.interrupt_dead_workers($1, $2::integer[]) as n", [host, deadPids]);
    return row.n;
  }

  /** This worker's report of itself: its clock's difference from the database's, whether it runs the crontab. */
  async workerSeen(worker: string, clockSkewMs: number, runsCrontab: boolean, note?: string | null): Promise<void> {
    await this.rows("select upload_scheduler.worker_seen($1, $2, $3, $4)", [worker, clockSkewMs, runsCrontab, note ?? null]);
  }

  /** Brings the crontab's last run back to now when a fast clock stamped it ahead; returns how many. */
  async healCrontab(maxSkew = "30 seconds"): Promise<number> {
    const [row] = await this.rows("select upload_scheduler.heal_crontab($1::interval) as n", [maxSkew]);
    return row.n;
  }

  /**
   * The database's clock against this process's: the difference in ms (positive when this process
   * is ahead), measured at the middle of the round trip.
   */
  async clockSkewMs(): Promise<number> {
    const sent = Date.now();
    const [row] = await this.rows("select extract(epoch from clock_timestamp()) * 1000 as ms", []);
    const received = Date.now();
    return (sent + received) / 2 - Number(row.ms);
  }

  /** uploading -> success, or -> failed keeping the error. */
  async finishUpload(videoId: string, succeeded: boolean, error?: string | null, now?: Instant): Promise<Video> {
    const [row] = await this.rows(
      videosOf(`upload_scheduler.finish_upload($1, $2, $3, coalesce($4::timestamptz, now()))`),
      [videoId, succeeded, error ?? null, instant(now)],
    );
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

  /**
   * Settles by hand a video whose last upload's outcome is in doubt (reconcile): `done` when the
   * platform has it (success, with its id and link), not done to upload it again.
   */
  async reconcileVideo(videoId: string, answer: { done: boolean; remoteId?: string | null; remoteUrl?: string | null; now?: Instant }): Promise<Video> {
    const [row] = await this.rows(videosOf(`upload_scheduler.reconcile($1, $2, $3, $4, coalesce($5::timestamptz, now()))`), [
      videoId, answer.done, answer.remoteId ?? null, answer.remoteUrl ?? null, instant(answer.now),
    ]);
    return toVideo(row);
  }

  /** Every limit (upload_limits) of a user, or of all: how much of its window is used at `now`, and until when a full one holds claims. */
  async limitStatus(userId?: string | null, now?: Instant): Promise<LimitStatus[]> {
    const rows = await this.rows(
      `select l.*, u.time_zone as user_time_zone, extract(epoch from l.per) as per_seconds
       from upload_scheduler.limit_status($1, coalesce($2::timestamptz, now())) l join public.users u on u.id = l.user_id`,
      [userId ?? null, instant(now)],
    );
    return rows.map((row) => ({
      userId: row.user_id, limitId: row.limit_id, maxUploads: row.max_uploads, perSeconds: Number(row.per_seconds),
      timeZone: row.time_zone, used: row.used, room: row.room, holdsUntil: inZone(row.holds_until, row.user_time_zone), note: row.note,
    }));
  }

  /** Puts a waiting video at the head of its user's queue (move_to_front); its created_at is kept. */
  async moveToFront(videoId: string): Promise<Video> {
    const [row] = await this.rows(videosOf(`upload_scheduler.move_to_front($1)`), [videoId]);
    return toVideo(row);
  }

  /** Puts a waiting video at `position` (1: the head) of its user's queue (move_to_position), the others keeping their order. */
  async moveToPosition(videoId: string, position: number): Promise<Video> {
    const [row] = await this.rows(videosOf(`upload_scheduler.move_to_position($1, $2)`), [videoId, position]);
    return toVideo(row);
  }

  /** Cancels a waiting video, its reason on record (withdraw_video): failed, last_outcome withdrawn, never retried by the sweep. */
  async withdrawVideo(videoId: string, reason?: string | null): Promise<Video> {
    const [row] = await this.rows(videosOf(`upload_scheduler.withdraw_video($1, $2)`), [videoId, reason ?? null]);
    return toVideo(row);
  }

  /** What a tick at `now` would claim, changing nothing. */
  async previewTick(now?: Instant): Promise<TickPreview[]> {
    const rows = await this.rows("select * from upload_scheduler.preview_tick(coalesce($1::timestamptz, now()))", [instant(now)]);
    return rows.map((row) => ({ ...toOpenSlot(row), room: row.room, wouldClaim: row.would_claim, note: row.note }));
  }

  /** The weekly schedule (of one user, or everyone) with today's use and room. */
  async getSlotStatus(userId?: string | null, now?: Instant): Promise<SlotStatus[]> {
    const rows = await this.rows(
      "select *, min_interval::text as min_interval from upload_scheduler.slot_status($1, coalesce($2::timestamptz, now()))",
      [userId ?? null, instant(now)],
    );
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
      minInterval: row.min_interval,
      quotaToday: row.quota_today,
      pausedUntil: row.paused_until === null ? null : pausedUntil(row.paused_until, row.time_zone),
    }));
  }

  /**
   * Replaces the user's whole week (the design note's JSON format), all or nothing; slots equal in
   * (day, start, end) keep their id and today's count. Returns the week, Monday first. Given
   * `{ slots, limits }`, it also replaces the user's platform limits (a key left out: unchanged).
   */
  async setSchedule(userId: string, slots: ScheduleSlot[] | ScheduleWeek): Promise<UploadSlot[]> {
    const rows = await this.rows(
      `select s.*, s.min_interval::text as min_interval, u.time_zone
       from upload_scheduler.set_schedule($1, $2::jsonb) s join public.users u on u.id = s.user_id`,
      [userId, JSON.stringify(slots)],
    );
    return rows.map(toSlot);
  }

  /** The user's week in the same JSON format; `setSchedule(u, await getSchedule(u))` changes nothing. */
  async getSchedule(userId: string): Promise<ScheduleSlot[]>;
  /** With `{ withLimits: true }`: the week and the limits, `{ slots, limits }`. */
  async getSchedule(userId: string, options: { withLimits: true }): Promise<Required<ScheduleWeek>>;
  async getSchedule(userId: string, options?: { withLimits: boolean }): Promise<ScheduleSlot[] | Required<ScheduleWeek>> {
    const [row] = options?.withLimits
      ? await this.rows("select upload_scheduler.get_schedule($1, true) as week", [userId])
      : await this.rows("select upload_scheduler.get_schedule($1) as week", [userId]);
    return row.week;
  }

  /** Nothing of the user is claimed until `until` (default: until resumed). */
  async pauseUploads(userId: string, options: { until?: Instant; reason?: string | null; now?: Instant } = {}): Promise<User> {
    const [row] = await this.rows(
      `select * from upload_scheduler.pause_uploads($1, coalesce($2::timestamptz, 'infinity'), $3, coalesce($4::timestamptz, now()))`,
      [userId, instant(options.until), options.reason ?? null, instant(options.now)],
    );
    return toUser(row);
  }

  /** Ends the user's pause now. */
  async resumeUploads(userId: string): Promise<User> {
    const [row] = await this.rows("select * from upload_scheduler.resume_uploads($1)", [userId]);
    return toUser(row);
  }

  /** The forecast: each waiting video and the tick that will claim it, in the owner's zone (null when beyond the horizon). */
  async upcomingUploads(options: { userId?: string | null; horizon?: string; now?: Instant } = {}): Promise<UpcomingUpload[]> {
    const rows = await this.rows(
      `select f.*, u.time_zone from upload_scheduler.upcoming_uploads($1, $2::interval, coalesce($3::timestamptz, now())) f
       join public.users u on u.id = f.user_id`,
      [options.userId ?? null, options.horizon ?? "7 days", instant(options.now)],
    );
    return rows.map((row) => ({
      videoId: row.video_id,
      userId: row.user_id,
      queuePosition: row.queue_position,
      slotId: row.slot_id,
      slotName: row.slot_name,
      localDate: row.local_date,
      expectedAt: inZone(row.expected_at, row.time_zone),
    }));
  }

  /** Each slot opening in the horizon, with its quota, use and a note (DST, exceptions, pause), in the owner's zone. */
  async upcomingWindows(options: { userId?: string | null; horizon?: string; now?: Instant } = {}): Promise<UpcomingWindow[]> {
    const rows = await this.rows(
      `select w.*, u.time_zone from upload_scheduler.upcoming_windows($1, $2::interval, coalesce($3::timestamptz, now())) w
       join public.users u on u.id = w.user_id`,
      [options.userId ?? null, options.horizon ?? "7 days", instant(options.now)],
    );
    return rows.map((row) => ({
      userId: row.user_id,
      slotId: row.slot_id,
      slotName: row.slot_name,
      localDate: row.local_date,
      opensAt: inZone(row.opens_at, row.time_zone),
      closesAt: inZone(row.closes_at, row.time_zone),
      maxUploads: row.max_uploads,
      used: row.used,
      note: row.note,
    }));
  }

  /** One video as it is now, or null. */
  async getVideo(videoId: string): Promise<Video | null> {
    const [row] = await this.rows(
      "select v.*, u.time_zone from public.videos v join public.users u on u.id = v.user_id where v.id = $1",
      [videoId],
    );
    return row ? toVideo(row) : null;
  }

  /** How the scheduler is doing: the last tick, videos by state, the oldest wait, overdue uploads. */
  async health(options: { interruptedAfter?: string; maxAttempts?: number; now?: Instant } = {}): Promise<Health> {
    const [row] = await this.rows(
      `select *, extract(epoch from last_tick_age) * 1000 as last_tick_age_ms, extract(epoch from oldest_waiting_age) * 1000 as oldest_waiting_age_ms
       from upload_scheduler.health($1::interval, $2, coalesce($3::timestamptz, now()))`,
      [options.interruptedAfter ?? "35 minutes", options.maxAttempts ?? 3, instant(options.now)],
    );
    return {
      lastTickAt: row.last_tick_at ? DateTime.fromJSDate(row.last_tick_at) : null,
      lastTickAgeMs: row.last_tick_age_ms === null ? null : Number(row.last_tick_age_ms),
      lastTickClaimed: row.last_tick_claimed,
      lastTickDurationMs: row.last_tick_duration_ms,
      ticksLastHour: row.ticks_last_hour,
      waiting: row.waiting,
      pending: row.pending,
      uploading: row.uploading,
      failedRetryable: row.failed_retryable,
      failedForGood: row.failed_for_good,
      oldestWaitingAgeMs: row.oldest_waiting_age_ms === null ? null : Number(row.oldest_waiting_age_ms),
      overdueUploads: row.overdue_uploads,
      leasesRunOut: row.leases_run_out,
      unknownOutcomes: row.unknown_outcomes,
      usersHeld: row.users_held,
      usersPaused: row.users_paused,
      workersSeen: row.workers_seen,
      workersSkewed: row.workers_skewed,
      maxClockSkewMs: row.max_clock_skew_ms === null ? null : Number(row.max_clock_skew_ms),
      usersLimited: row.users_limited,
      limitedUntil: row.limited_until ? DateTime.fromJSDate(row.limited_until) : null,
    };
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
