import type { DateTime } from "luxon";
import { SchedulerError } from "../errors.js";
import { inZone, toUser, toVideo, types, type Queryable } from "../service.js";
import type { AttemptRecord, ScheduleException, User, Video } from "../types.js";

/**
 * What the dashboard reads, beside the typed client's functions (health, slot_status,
 * upcoming_uploads): the users to choose from, a user's claimed videos, titles, date exceptions and
 * recent attempts. Plain reads of the tables, kept with the page that shows them.
 */
export class DashboardQueries {
  constructor(private readonly db: Queryable) {}

  private async rows(text: string, values: unknown[]): Promise<any[]> {
    try {
      return (await this.db.query({ text, values, types })).rows;
    } catch (error) {
      throw SchedulerError.from(error);
    }
  }

  /** Users, oldest first (what a dashboard offers to choose from). */
  async listUsers(limit = 1000): Promise<User[]> {
    const rows = await this.rows("select * from public.users order by name nulls last, created_at, id limit $1", [limit]);
    return rows.map(toUser);
  }

  /** One user, or null when there is none with that id. */
  async getUser(userId: string): Promise<User | null> {
    const [row] = await this.rows("select * from public.users where id = $1", [userId]);
    return row ? toUser(row) : null;
  }

  /** The user's claimed videos (pending or uploading), oldest claim first, with their slot's name. */
  async claimedVideos(userId: string): Promise<Array<{
    id: string; title: string | null; status: "pending" | "uploading"; slotName: string | null; claimedAt: DateTime | null; startedAt: DateTime | null;
    bytesSent: number | null; bytesTotal: number | null;
  }>> {
    const rows = await this.rows(
      `select v.id, v.title, v.status, v.claimed_at, v.started_at, v.bytes_sent, v.bytes_total, s.slot_name, u.time_zone
       from public.videos v
       join public.users u on u.id = v.user_id
       left join public.upload_schedules s on s.id = v.slot_id
       where v.user_id = $1 and v.status in ('pending', 'uploading')
       order by v.claimed_at, v.id`,
      [userId],
    );
    return rows.map((row) => ({
      id: row.id, title: row.title, status: row.status, slotName: row.slot_name,
      claimedAt: inZone(row.claimed_at, row.time_zone), startedAt: inZone(row.started_at, row.time_zone),
      bytesSent: row.bytes_sent === null ? null : Number(row.bytes_sent), bytesTotal: row.bytes_total === null ? null : Number(row.bytes_total),
    }));
  }

  /** Titles of videos, by id (for showing the forecast). */
  async videoTitles(videoIds: string[]): Promise<Array<{ id: string; title: string | null }>> {
    return this.rows("select id, title from public.videos where id = any($1::uuid[])", [videoIds]);
  }

  /** The user's date exceptions between two local dates (ISO), by date. */
  async getExceptions(userId: string, fromDate: string, toDate: string): Promise<ScheduleException[]> {
    const rows = await this.rows(
      `select e.id, e.user_id, e.local_date, e.slot_id, e.max_uploads, e.note, s.slot_name
       from public.upload_schedule_exceptions e left join public.upload_schedules s on s.id = e.slot_id
       where e.user_id = $1 and e.local_date between $2::date and $3::date
       order by e.local_date, e.slot_id nulls first`,
      [userId, fromDate, toDate],
    );
    return rows.map((row) => ({
      id: row.id, userId: row.user_id, localDate: row.local_date, slotId: row.slot_id, slotName: row.slot_name,
      maxUploads: row.max_uploads, note: row.note,
    }));
  }

  /** The latest attempts (public.upload_attempts) of one user, or of all, newest first, with the video's title. */
  async recentAttempts(options: { userId?: string | null; limit?: number } = {}): Promise<AttemptRecord[]> {
    const rows = await this.rows(
      `${ATTEMPTS}
       where $1::uuid is null or a.user_id = $1
       order by a.id desc
       limit $2`,
      [options.userId ?? null, options.limit ?? 20],
    );
    return rows.map(toAttempt);
  }

  /**
   * A user's videos, newest first, optionally of one status and with a title containing `search`
   * (case-insensitive): a page of `limit` from `offset`, and how many there are in all.
   */
  async videos(userId: string, options: { status?: string | null; search?: string | null; limit?: number; offset?: number } = {}): Promise<{ total: number; videos: Video[] }> {
    const rows = await this.rows(
      `select v.*, u.time_zone, count(*) over () as total
       from public.videos v join public.users u on u.id = v.user_id
       where v.user_id = $1 and ($2::text is null or v.status::text = $2)
         and ($3::text is null or v.title ilike '%' || replace(replace(replace($3, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
       order by v.created_at desc, v.id desc
       limit $4 offset $5`,
      [userId, options.status ?? null, options.search || null, Math.min(options.limit ?? 50, 500), options.offset ?? 0],
    );
    return { total: rows.length ? Number(rows[0].total) : 0, videos: rows.map(toVideo) };
  }

  /** A user's failed videos, latest first: what the dashboard offers to retry. */
  async failedVideos(userId: string, limit = 50): Promise<Video[]> {
    const rows = await this.rows(
      `select v.*, u.time_zone from public.videos v join public.users u on u.id = v.user_id
       where v.user_id = $1 and v.status = 'failed' order by v.finished_at desc nulls last, v.id limit $2`,
      [userId, limit],
    );
    return rows.map(toVideo);
  }

  /** A new waiting video of a user (what an application's INSERT does). */
  async addVideo(userId: string, video: { title?: string | null; sourcePath?: string | null; notBefore?: string | null }): Promise<Video> {
    const [row] = await this.rows(
      `with v as (insert into public.videos (user_id, title, source_path, not_before) values ($1, $2, $3, $4::timestamptz) returning *)
       select v.*, u.time_zone from v join public.users u on u.id = v.user_id`,
      [userId, video.title ?? null, video.sourcePath ?? null, video.notBefore ?? null],
    );
    return toVideo(row);
  }

  /** Switches a slot on or off, as `update upload_schedules set is_active = …` does in psql (the table's rules apply). */
  async setSlotActive(slotId: string, active: boolean): Promise<{ userId: string } | null> {
    const [row] = await this.rows("update public.upload_schedules set is_active = $2 where id = $1 returning user_id", [slotId, active]);
    return row ? { userId: row.user_id } : null;
  }

  /**
   * Uploads and failures per local day of the user (attempts that ended), for the `days` days up to
   * and including today in the user's zone: one row per day, zeros included.
   */
  async dailyOutcomes(userId: string, days = 14): Promise<Array<{ date: string; uploaded: number; failed: number }>> {
    const rows = await this.rows(
      `with u as (select time_zone from public.users where id = $1),
            d as (select generate_series((now() at time zone u.time_zone)::date - ($2::int - 1), (now() at time zone u.time_zone)::date, interval '1 day')::date as day from u)
       select d.day::text as date,
              count(a.*) filter (where a.outcome = 'success')::int as uploaded,
              count(a.*) filter (where a.outcome is not null and a.outcome not in ('success', 'stale', 'late'))::int as failed
       from d cross join u
       left join public.upload_attempts a
         on a.user_id = $1 and a.finished_at >= (d.day::timestamp at time zone u.time_zone)
        and a.finished_at < ((d.day + 1)::timestamp at time zone u.time_zone)
       group by d.day order by d.day`,
      [userId, days],
    );
    return rows;
  }

  /** Every attempt of one video, oldest first. */
  async attemptsOf(videoId: string): Promise<AttemptRecord[]> {
    const rows = await this.rows(
      `${ATTEMPTS}
       where a.video_id = $1
       order by a.id`,
      [videoId],
    );
    return rows.map(toAttempt);
  }
}

/** Attempts with their video's title and their user's zone, as toAttempt reads them. */
const ATTEMPTS = `select a.*, v.title, u.time_zone, extract(epoch from a.finished_at - a.started_at) * 1000 as duration_ms
       from public.upload_attempts a
       join public.videos v on v.id = a.video_id
       join public.users u on u.id = a.user_id`;

function toAttempt(row: any): AttemptRecord {
  return {
    videoId: row.video_id,
    userId: row.user_id,
    title: row.title,
    attempt: row.attempt,
    slotId: row.slot_id,
    localDate: row.local_date,
    claimedAt: inZone(row.claimed_at, row.time_zone),
    startedAt: inZone(row.started_at, row.time_zone),
    finishedAt: inZone(row.finished_at, row.time_zone),
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    outcome: row.outcome,
    error: row.error,
    worker: row.worker,
    remoteUrl: typeof row.result?.remoteUrl === "string" ? row.result.remoteUrl : null,
  };
}
