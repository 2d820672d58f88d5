import type { DateTime } from "luxon";

/** A video's status; it moves initiate -> pending -> uploading -> success | failed. */
export type VideoStatus = "initiate" | "pending" | "uploading" | "success" | "failed";

export const VIDEO_STATUSES: readonly VideoStatus[] = ["initiate", "pending", "uploading", "success", "failed"];

/** How an attempt ended, as the worker running it reports it. */
export type AttemptOutcome = "success" | "failed" | "timed_out" | "aborted";

export type Weekday = "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";

/** Something that reaches SQL as `p_now`: a luxon DateTime, a JS Date, or timestamptz text ("2026-11-30 09:00+05:30"). */
export type Instant = DateTime | Date | string;

export interface User {
  id: string;
  timeZone: string;
  createdAt: DateTime;
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
  /** The owner's time zone, in which the timestamps above are expressed. */
  timeZone: string;
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
