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

/**
 * The bench's bare copy of public.videos, the baseline every ratio compares against: the same
 * rows (copied in the same physical order, so its indexes grow as the loads grew public.videos')
 * and the same indexes and defaults, but no trigger, no CHECK constraint, no policy and no
 * foreign key (CREATE TABLE … LIKE copies none of these unless asked). The bare single and batch
 * claims write it with plain UPDATEs: the bare minimum of a SKIP LOCKED claim on those rows.
 */
export const BARE_VIDEOS = "bench_bare.videos";

export async function createBareVideos(db: pg.Client): Promise<void> {
  await db.query("create schema bench_bare");
  await db.query(`create table ${BARE_VIDEOS} (like public.videos including defaults including indexes)`);
  await db.query(`insert into ${BARE_VIDEOS} select * from public.videos`);
  await db.query(`vacuum analyze ${BARE_VIDEOS}`);
  // What the baseline may not have: any trigger or CHECK constraint (a wrong copy would make the
  // ratios flatter the product).
  const { rows: [extra] } = await db.query(
    `select (select count(*)::int from pg_trigger where tgrelid = $1::regclass) as triggers,
            (select count(*)::int from pg_constraint where conrelid = $1::regclass and contype in ('c', 'f', 'x')) as constraints,
            (select count(*)::int from pg_index where indrelid = $1::regclass) as indexes,
            (select count(*)::int from pg_index where indrelid = 'public.videos'::regclass) as product_indexes`,
    [BARE_VIDEOS],
  );
  if (extra.triggers !== 0 || extra.constraints !== 0 || extra.indexes !== extra.product_indexes) {
    throw new Error(`${BARE_VIDEOS} is not a bare copy of public.videos: ${JSON.stringify(extra)}`);
  }
}

/**
 * The resets between measurements (untimed), on a connection of their own, as the database's
 * owner. Each puts a table back in the state the load left it in, so every measurement starts
 * from the same state:
 *   scheduler()  every claimed video back to initiate; the places and attempts the run wrote
 *                (ids above those of the load) deleted, so the append-only ledger does not grow
 *                run after run; the due bookkeeping as the load left it (no user due by its
 *                due_at, one due mark per user with a waiting video, as their arrival left
 *                them; tick_clock never ticked);
 *   bare()       every claimed video of the bare copy back to initiate.
 * Each ends with VACUUM (index_cleanup on, analyze) of what it wrote and a CHECKPOINT.
 *
 * The lifecycle columns of public.videos and the ledger can only be written by the scheduler's
 * functions: the statement triggers tg_videos__lifecycle_by_functions and tg_places__by_functions
 * refuse the reset's plain statements (UPMOV), even the owner's. The reset connection therefore
 * runs with session_replication_role = replica (a superuser's setting: every ordinary trigger
 * is off for this connection alone; the CHECK constraints still hold, and the rows it writes
 * satisfy them). Without superuser, it switches the two guard triggers off around its own
 * statements, in one transaction (ALTER TABLE … DISABLE TRIGGER, as the loads do). Either way
 * this is a benchmark's reset of its own throw-away database, never a way to move videos.
 */
export type Resets = {
  scheduler(): Promise<void>;
  bare(): Promise<void>;
  /** How the guards were bypassed: "replica" or "disable trigger". */
  how: string;
  end(): Promise<void>;
};

export async function resets(url: string): Promise<Resets> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let replica = true;
  try {
    await c.query("set session_replication_role = replica");
  } catch {
    replica = false;
  }
  // What the load wrote: the ledger and the attempts above these ids are the runs'.
  const { rows: [loaded] } = await c.query(
    `select (select coalesce(max(id), 0) from upload_scheduler.places)::text as places,
            (select coalesce(max(id), 0) from public.upload_attempts)::text as attempts`,
  );
  const guardsOff = async (statements: Array<[string, unknown[]?]>) => {
    if (replica) {
      for (const [sql, values] of statements) await c.query(sql, values);
      return;
    }
    await c.query("begin");
    try {
      await c.query("alter table public.videos disable trigger tg_videos__lifecycle_by_functions");
      await c.query("alter table upload_scheduler.places disable trigger tg_places__by_functions");
      for (const [sql, values] of statements) await c.query(sql, values);
      await c.query("alter table upload_scheduler.places enable trigger tg_places__by_functions");
      await c.query("alter table public.videos enable trigger tg_videos__lifecycle_by_functions");
      await c.query("commit");
    } catch (error) {
      await c.query("rollback");
      throw error;
    }
  };
  const settle = async (tables: string) => {
    // index_cleanup on: with few dead rows VACUUM would skip the indexes, and the next run's
    // index scans would step over (and pay for) the dead entries the previous run left.
    await c.query(`vacuum (index_cleanup on, analyze) ${tables}`);
    // Every measurement starts just after a checkpoint, so none of them pays for the full-page
    // images of the WAL that the previous one and this reset wrote (needs superuser or pg_checkpoint).
    await c.query("checkpoint").catch(() => {});
  };
  return {
    how: replica ? "replica" : "disable trigger",
    async scheduler() {
      await guardsOff([
        ["update public.videos set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null where status = 'pending'"],
        ["delete from upload_scheduler.places where id > $1", [loaded.places]],
        ["delete from public.upload_attempts where id > $1", [loaded.attempts]],
        ["delete from upload_scheduler.due_marks"],
        ["update upload_scheduler.user_due set due_at = 'infinity' where due_at <> 'infinity'"],
        ["insert into upload_scheduler.due_marks (user_id) select distinct v.user_id from public.videos v where v.status = 'initiate'"],
        ["update upload_scheduler.tick_clock set latest = '-infinity'"],
      ]);
      await settle(
        "public.videos, upload_scheduler.places, public.upload_attempts, upload_scheduler.user_due, upload_scheduler.due_marks, upload_scheduler.tick_clock",
      );
    },
    async bare() {
      await c.query(`update ${BARE_VIDEOS} set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null where status = 'pending'`);
      await settle(BARE_VIDEOS);
    },
    end: () => c.end(),
  };
}

/**
 * The population scenario: U users over the same five zones, one slot a day on all seven days
 * (00:00-23:59:59, one upload), five old uploads each (no slot: history, so they take no place in
 * the ledger; tg_videos__take_inserted_place only fires for a video with a slot), and one waiting
 * video for 1 % of them. Triggers that check what is valid by construction are off for the load; the
 * waiting videos go in with every trigger on, so their users are marked due as in production.
 * (tg_videos__arrivals leaves a due mark for the users of every inserted video, history too: the
 * reset replaces the load's marks with one per user with a waiting video.)
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
