import type { DateTime } from "luxon";

/** A video's status; it moves initiate -> pending -> uploading -> success | failed. */
export type VideoStatus = "initiate" | "pending" | "uploading" | "success" | "failed";

export const VIDEO_STATUSES: readonly VideoStatus[] = ["initiate", "pending", "uploading", "success", "failed"];

/** How an attempt ended: the first four are reported by the worker running it. */
export type AttemptOutcome = "success" | "failed" | "timed_out" | "aborted";
/** How a worker's leased attempt can end (end_attempt): the outcomes above, and the kinds of failure a destination tells apart. */
export type LeasedOutcome = AttemptOutcome | "retry_later" | "needs_reconnect" | "permanent" | "unknown";

/** How the last attempt (or a claim never started) ended, as public.upload_attempts records it. */
export type RecordedOutcome = LeasedOutcome | "interrupted" | "stale" | "late" | "withdrawn";

export type Weekday = "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";

/** Something that reaches SQL as `p_now`: a luxon DateTime, a JS Date, or timestamptz text ("2026-11-30 09:00+05:30"). */
export type Instant = DateTime | Date | string;

export interface User {
  id: string;
  /** A name people know the user by (users.name), or null. */
  name: string | null;
  timeZone: string;
  createdAt: DateTime;
  /** Nothing is claimed before it; "infinity" until resumed; null when not paused. */
  uploadsPausedUntil: DateTime | "infinity" | null;
  pauseReason: string | null;
  /** A destination said to retry later: nothing of this user is claimed before it (null: not held). */
  heldUntil: DateTime | null;
  holdReason: string | null;
  /** Where its videos go (null: MEDIA_PROCESS_MODULE), and the name of its credentials in the environment. */
  destination: string | null;
  credentials: string | null;
}

/** One slot of the week in the design note's JSON format (set_schedule / get_schedule). */
export interface ScheduleSlot {
  day: Weekday | string;
  /** "HH:MM:SS", local to the user's zone. */
  start_time: string;
  end_time: string;
  max_uploads?: number;
  slot_name?: string | null;
  is_active?: boolean;
  /** PostgreSQL interval text, e.g. "45 minutes"; null or absent: no pacing. */
  min_interval?: string | null;
  user_id?: string;
}

/** One platform limit in set_schedule's object form (see {@link ScheduleWeek}). */
export interface ScheduleLimit {
  max_uploads: number;
  /** PostgreSQL interval text: "24 hours" (rolling), "1 day" (calendar, with time_zone). */
  per: string;
  /** null or absent: a rolling window; an IANA zone: calendar windows from midnight there. */
  time_zone?: string | null;
  note?: string | null;
}

/** set_schedule's object form: the week and the limits; a key left out leaves that part as it is. */
export interface ScheduleWeek {
  slots?: ScheduleSlot[];
  limits?: ScheduleLimit[];
}

/** A row of upload_scheduler.upcoming_uploads: the forecast of one waiting video. */
export interface UpcomingUpload {
  videoId: string;
  userId: string;
  /** 1 for the video the user's next claim takes. */
  queuePosition: number;
  slotId: string | null;
  slotName: string | null;
  localDate: string | null;
  /** The tick that will claim it, in the owner's zone; null when it does not fit in the horizon. */
  expectedAt: DateTime | null;
}

/** A row of upload_scheduler.upcoming_windows: one opening of a slot. */
export interface UpcomingWindow {
  userId: string;
  slotId: string;
  slotName: string | null;
  localDate: string;
  /** First open second; null when the slot's local times do not exist that day (DST). */
  opensAt: DateTime | null;
  /** Last open second (inclusive). */
  closesAt: DateTime | null;
  /** The quota that day (date exceptions applied). */
  maxUploads: number;
  used: number;
  note: string | null;
}

/** A row of public.upload_schedules. Times of day are local to the owner's time zone, "HH:MM:SS". */
export interface UploadSlot {
  id: string;
  userId: string;
  day: Weekday;
  startTime: string;
  endTime: string;
  maxUploads: number;
  slotName: string | null;
  isActive: boolean;
  /** PostgreSQL interval text ("00:45:00"); null: no pacing. */
  minInterval: string | null;
  createdAt: DateTime;
}

/** A row of public.videos; its timestamps are DateTimes in the owner's time zone. */
export interface Video {
  id: string;
  userId: string;
  status: VideoStatus;
  title: string | null;
  sourcePath: string | null;
  slotId: string | null;
  /** The local date (ISO, "2026-11-30") of the slot it was claimed into. */
  slotDate: string | null;
  createdAt: DateTime;
  claimedAt: DateTime | null;
  startedAt: DateTime | null;
  finishedAt: DateTime | null;
  attempts: number;
  lastError: string | null;
  /** How the last attempt ended (null before the first). */
  lastOutcome: RecordedOutcome | null;
  /** host:pid of the worker that started the current or last attempt. */
  worker: string | null;
  /** What the destination answered for the upload (its id and URL), once uploaded. */
  remoteId: string | null;
  remoteUrl: string | null;
  /** Bytes sent by the running (or last) upload, as its worker reported them. */
  bytesSent: number | null;
  bytesTotal: number | null;
  /** What the destination checkpointed to resume the upload (context.resume of the next attempt). */
  resumeState: unknown;
  /** Attempts that do not count towards MAX_ATTEMPTS (retry later, reconnect, unknown). */
  freeAttempts: number;
  /** What a destination publishes with the video (title, description, tags, privacy, publish time). */
  metadata: Record<string, unknown> | null;
  /** Where this video goes (builtin:tus, builtin:youtube, builtin:local, a module path), or null for its user's. */
  destination: string | null;
  /** Not claimed before this instant. */
  notBefore: DateTime | null;
  /** The claim takes a user's waiting videos by it, highest first (move_to_front raises it), then by createdAt. */
  queuePriority: number;
  /** The owner's time zone, in which the timestamps above are expressed. */
  timeZone: string;
}

/** A worker's attempt, as begin_attempt started it: the token proves it is this worker's. */
export interface LeasedAttempt {
  video: Video;
  attempt: number;
  token: string;
  leaseUntil: Date;
  /** Where it goes: the video's destination, else its user's; null for MEDIA_PROCESS_MODULE. */
  destination: string | null;
  /** Its user's credentials name (users.credentials): the destination reads VAR__NAME before VAR. */
  credentials: string | null;
}

/** upload_scheduler.current_time_info: the clock as the scheduler sees it. */
export interface TimeInfo {
  localTimestamp: DateTime;
  /** ISO date, "2026-11-30". */
  localDate: string;
  day: Weekday;
  /** "HH:MM:SS[.ffffff]" */
  localTime: string;
  timeZone: string;
}

/** A row of upload_scheduler.open_slots / preview_tick. */
export interface OpenSlot {
  slotId: string;
  userId: string;
  slotName: string | null;
  timeZone: string;
  localDate: string;
  localTime: string;
  maxUploads: number;
  used: number;
}

export interface TickPreview extends OpenSlot {
  room: number;
  wouldClaim: string[];
  /** Why the room is what it is: a pause, pacing. */
  note: string | null;
}

/** A row of upload_scheduler.slot_status. */
export interface SlotStatus {
  userId: string;
  slotId: string;
  slotName: string | null;
  day: Weekday;
  startTime: string;
  endTime: string;
  isActive: boolean;
  maxUploads: number;
  timeZone: string;
  isToday: boolean;
  isOpenNow: boolean;
  usedToday: number | null;
  roomToday: number | null;
  /** PostgreSQL interval text; null: no pacing. */
  minInterval: string | null;
  /** Today's quota with date exceptions applied (null when the slot is not today). */
  quotaToday: number | null;
  /** The user's pause, when one is on at `now`: an instant, or "infinity" until resumed. */
  pausedUntil: DateTime | "infinity" | null;
}

export interface ClaimedVideo {
  videoId: string;
  userId: string;
  slotId: string;
  slotDate: string;
  attempt: number;
}

/** What one run_tick did. */
export interface TickResult {
  interrupted: number;
  retried: number;
  staleReset: number;
  claimed: ClaimedVideo[];
}

/** upload_scheduler.health: how the scheduler is doing, in one row. */
export interface Health {
  /** The instant (p_now) of the last tick; null before the first. */
  lastTickAt: DateTime | null;
  lastTickAgeMs: number | null;
  lastTickClaimed: number | null;
  lastTickDurationMs: number | null;
  ticksLastHour: number;
  waiting: number;
  pending: number;
  uploading: number;
  failedRetryable: number;
  /** Failed with MAX_ATTEMPTS used up: only retry_video sends them back. */
  failedForGood: number;
  oldestWaitingAgeMs: number | null;
  /** Uploading for longer than INTERRUPTED_AFTER: their worker may be gone. */
  overdueUploads: number;
  /** Running attempts whose lease has run out (the next sweep interrupts them). */
  leasesRunOut: number;
  /** Videos whose last outcome stayed unknown (reconcile could not tell): retried later. */
  unknownOutcomes: number;
  /** Users whose claims are held (a destination said to retry later), and users paused. */
  usersHeld: number;
  usersPaused: number;
  /** Workers seen in the last five minutes, those whose clock is more than 30 s off, and the largest difference. */
  workersSeen: number;
  workersSkewed: number;
  maxClockSkewMs: number | null;
  /** Users a platform's limit holds now (one of their limits is full), and when the last of those holds ends (limitStatus gives each). */
  usersLimited: number;
  limitedUntil: DateTime | null;
}

/** A row of public.upload_schedule_exceptions (with its slot's name). */
export interface ScheduleException {
  id: string;
  userId: string;
  localDate: string;
  /** null: every slot of the user that day. */
  slotId: string | null;
  slotName: string | null;
  maxUploads: number;
  note: string | null;
}

/** A row of public.upload_attempts, with the video's title; times in the owner's zone. */
export interface AttemptRecord {
  videoId: string;
  userId: string;
  title: string | null;
  attempt: number;
  slotId: string | null;
  localDate: string | null;
  claimedAt: DateTime | null;
  startedAt: DateTime | null;
  finishedAt: DateTime | null;
  durationMs: number | null;
  /** null while the upload runs. */
  outcome: RecordedOutcome | null;
  error: string | null;
  worker: string | null;
  /** Where the destination put the upload (upload_attempts.result's remoteUrl), for a success. */
  remoteUrl: string | null;
}

/** upload_scheduler.limit_status: one limit of a user (public.upload_limits) at an instant. */
export interface LimitStatus {
  userId: string;
  limitId: string;
  maxUploads: number;
  /** The window's length in seconds (upload_limits.per). */
  perSeconds: number;
  /** null: a rolling window; else calendar windows from midnight in this zone. */
  timeZone: string | null;
  /** Claims in the current window (pending, uploading, uploaded). */
  used: number;
  room: number;
  /** When full: until when it holds the user's claims (in the user's zone); null while it has room. */
  holdsUntil: DateTime | null;
  note: string | null;
}
