import pg from "pg";

/** Time zones the benchmark's users are spread over (the tick computes local time once per zone). */
export const ZONES = ["Asia/Kolkata", "UTC", "America/New_York", "Asia/Tokyo", "Europe/Berlin"];

/**
 * U users, each with 3 slots a day covering the whole day, 7 days a week (so every instant
 * falls inside a slot for every user), one upload per slot; V initiate videos spread evenly
 * over the users, oldest first in a fixed order.
 */
export async function generate(db: pg.Client, users: number, videos: number): Promise<void> {
  await db.query(
    `insert into users (id, time_zone)
     select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, ($2::text[])[1 + g % cardinality($2::text[])]
     from generate_series(1, $1) g`,
    [users, ZONES],
  );
  // These slots are disjoint by construction; the per-row validation trigger (overlap check
  // and user lock) is switched off for the bulk load alone, where it would dominate the set-up.
  await db.query("alter table upload_schedules disable trigger tg_upload_schedules__validate");
  await db.query(
    `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name)
     select u.id, d.day, s.start_time, s.end_time, 1, s.name
     from users u
     cross join unnest(array['monday','tuesday','wednesday','thursday','friday','saturday','sunday']) as d(day)
     cross join (values ('00:00:00'::time, '07:59:59'::time, 'night'), ('08:00:00', '15:59:59', 'day'), ('16:00:00', '23:59:59', 'evening'))
       as s(start_time, end_time, name)`,
  );
  await db.query("alter table upload_schedules enable trigger tg_upload_schedules__validate");
  // The videos too: valid by construction (known users, initiate); the per-row insert check is
  // switched off for the load alone.
  await db.query("alter table videos disable trigger tg_videos__validate_insert");
  await db.query(
    `insert into videos (user_id, title, created_at)
     select ('00000000-0000-4000-8000-' || lpad(to_hex(1 + g % $1), 12, '0'))::uuid, 'video ' || g,
            timestamptz '2026-01-01 00:00Z' + g * interval '1 second'
     from generate_series(0, $2 - 1) g`,
    [users, videos],
  );
  await db.query("alter table videos enable trigger tg_videos__validate_insert");
  await db.query("vacuum analyze users, upload_schedules, videos");
}

/** Puts every claimed video back, as if no tick had run; not timed. */
export async function reset(db: pg.Client): Promise<void> {
  await db.query("update videos set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null where status = 'pending'");
  await db.query("delete from upload_scheduler.slot_day_counts");
  // index_cleanup on: with few dead rows VACUUM would skip the indexes, and the next run's
  // index scans would step over (and pay for) the dead entries the previous run left.
  await db.query("vacuum (index_cleanup on, analyze) videos, upload_scheduler.slot_day_counts");
  // Every measurement starts just after a checkpoint, so none of them pays for the full-page
  // images of the WAL that the previous one and this reset wrote (needs superuser or pg_checkpoint).
  await db.query("checkpoint").catch(() => {});
}

/**
 * The population scenario: U users over the same five zones, one slot a day on all seven days
 * (00:00-23:59:59, one upload), five old uploads each (no slot: history), and one waiting video
 * for 1 % of them. Triggers that check what is valid by construction are off for the load; the
 * waiting videos go in with every trigger on, so their users are marked due as in production.
 */
export async function generatePopulation(db: pg.Client, users: number): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  const step = async (name: string, sql: string, values: unknown[] = []) => {
    const started = performance.now();
    await db.query(sql, values);
    times[name] = Math.round(performance.now() - started);
  };
  await db.query("alter table users disable trigger tg_users__validate");
  await step("users", `insert into users (id, time_zone)
     select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, ($2::text[])[1 + g % cardinality($2::text[])]
     from generate_series(1, $1) g`, [users, ZONES]);
  await db.query("alter table users enable trigger tg_users__validate");
  // Seven million slots go in without their indexes and the overlap constraint: the indexes are
  // built after the load (a sort, not seven million random inserts), and the exclusion constraint
  // (a GiST index, minutes to build at this size) is left out of this throw-away database: the
  // slots are disjoint by construction, and the constraint costs only writes of slots, which the
  // measured ticks never make.
  await db.query("alter table upload_schedules disable trigger tg_upload_schedules__validate");
  await db.query("alter table upload_schedules drop constraint upload_schedules_no_overlap");
  await db.query("alter table upload_schedules drop constraint upload_schedules_pkey");
  await db.query("drop index upload_schedules_user_day_idx");
  await step("slots", `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name)
     select u.id, d.day, '00:00:00', '23:59:59', 1, 'all day'
     from users u cross join unnest(array['monday','tuesday','wednesday','thursday','friday','saturday','sunday']) as d(day)`);
  await step("slot_indexes", `alter table upload_schedules add constraint upload_schedules_pkey primary key (id)`);
  await db.query("create index upload_schedules_user_day_idx on public.upload_schedules (user_id, day, start_time) where is_active");
  await db.query("alter table upload_schedules enable trigger tg_upload_schedules__validate");
  await db.query("alter table videos disable trigger tg_videos__validate_insert");
  await step("old_uploads", `insert into videos (user_id, title, status, created_at, finished_at)
     select u.id, 'old', 'success', timestamptz '2026-01-01 00:00Z' + g * interval '1 day', timestamptz '2026-01-01 00:00Z' + g * interval '1 day'
     from users u cross join generate_series(1, 5) g`);
  await db.query("alter table videos enable trigger tg_videos__validate_insert");
  await step("waiting", `insert into videos (user_id, title, created_at)
     select u.id, 'new', timestamptz '2026-11-01 00:00Z' + row_number() over () * interval '1 second'
     from users u where (('x' || right(u.id::text, 8))::bit(32)::int) % 100 = 0`);
  await step("vacuum", "vacuum analyze users, upload_schedules, videos, upload_scheduler.user_due, upload_scheduler.due_marks");
  return times;
}
