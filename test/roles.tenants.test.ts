// Least privilege: a login role granted upload_scheduler_worker runs the scheduler and nothing
// else; one granted upload_scheduler_app acts for one user, whose rows are all it can see or
// change. No function is executable by PUBLIC.
import t, { type Test } from "tap";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { kolkata, rejects, testDatabase, type TestDatabase } from "./fixtures/db.js";
import { withAdmin } from "./fixtures/template.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";
import { SCRIPTED_MEDIA, mediaLog, startWorker, waitFor } from "./fixtures/worker.js";
import { prepareDatabase } from "../src/db/migrate.js";

/** Awaits a promise that must fail for want of a privilege (42501). */
async function denied(t: Test, what: string, promise: Promise<unknown>) {
  const error = await promise.then(() => undefined, (e) => e);
  t.equal(error?.code, "42501", `${what}: ${error?.message ?? "was allowed"}`);
}

const AT = (local: string) => kolkata(`2026-11-30 ${local}`);

/** A login role (dropped afterwards) granted `group`, and a connection of it to the test database. */
async function loginAs(t: Test, db: TestDatabase, group: "upload_scheduler_worker" | "upload_scheduler_app") {
  const name = `upsched_${group === "upload_scheduler_app" ? "app" : "worker"}_${randomBytes(4).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create role ${name} login password '${name}' in role ${group}`));
  const url = new URL(db.url);
  url.username = name;
  // A password too: the embedded PostgreSQL (npm test without DATABASE_URL) asks for one.
  url.password = name;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  t.teardown(async () => {
    await client.end();
    await withAdmin(async (admin) => {
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [name]);
      await admin.query(`drop role if exists ${name}`);
    });
  });
  const q = async (sql: string, values: unknown[] = []) => (await client.query(sql, values)).rows;
  return { name, url: url.toString(), client, q };
}

async function twoTenants(db: TestDatabase) {
  const a = await addUser(db);
  const b = await addUser(db);
  const slotA = await addSlot(db, a, { day: "monday", start: "09:00", end: "11:59:59", max: 2, name: "a-morning" });
  const slotB = await addSlot(db, b, { day: "monday", start: "09:00", end: "11:59:59", max: 2, name: "b-morning" });
  const videosA = await queueVideos(db, a, 3);
  const videosB = await queueVideos(db, b, 3);
  return { a, b, slotA, slotB, videosA, videosB };
}

t.test("no function of the scheduler is executable by PUBLIC", async (t) => {
  const db = await testDatabase(t);
  const open = await db.q(`
    select p.oid::regprocedure::text as fn
    from pg_proc p
    where p.pronamespace in ('upload_scheduler'::regnamespace, 'upload_scheduler_private'::regnamespace)
      and (p.proacl is null or exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE'))`);
  t.same(open, [], "every function has an ACL without PUBLIC");
  const [{ n }] = await db.q("select count(*)::int as n from pg_proc where pronamespace = 'upload_scheduler'::regnamespace");
  t.ok(n >= 17, `${n} functions checked`);
});

t.test("the worker role: ticks, starts and finishes uploads, reads everything, writes nothing directly", async (t) => {
  const db = await testDatabase(t);
  const { a, slotA, videosA } = await twoTenants(db);
  const worker = await loginAs(t, db, "upload_scheduler_worker");

  const [tick] = await worker.q("select * from upload_scheduler.run_tick(p_now => $1)", [AT("10:00")]);
  t.equal(tick.claimed.length, 4, "run_tick claims for every user (two slots of two)");
  const [started] = await worker.q("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'w:1', $2)", [videosA[0], AT("10:01")]);
  t.equal(started.status, "uploading");
  const [done] = await worker.q("select * from upload_scheduler.finish_upload_attempt($1, 1, 'success', null, $2)", [videosA[0], AT("10:02")]);
  t.equal(done.status, "success");
  t.equal((await worker.q("select count(*)::int as n from videos"))[0].n, 6, "it reads every user's videos");
  t.equal((await worker.q("select count(*)::int as n from upload_scheduler.slot_status(null, $1)", [AT("10:00")]))[0].n, 2);

  const before = await snapshot(db);
  for (const sql of [
    "update videos set status = 'pending'",
    "insert into videos (user_id) values ('" + a + "')",
    "delete from videos",
    "update upload_schedules set max_uploads = 100",
    "update users set time_zone = 'UTC'",
    "insert into upload_attempts (video_id, user_id, attempt) values ('" + videosA[1] + "', '" + a + "', 1)",
    "update upload_scheduler.places set released_at = now()",
    "delete from upload_scheduler.places",
    "select * from upload_scheduler.find_next_video_to_upload('" + a + "')",
    "select * from upload_scheduler.claim_due_videos()",
    "select upload_scheduler.retry_video('" + videosA[1] + "')",
    "select upload_scheduler_private.claim(array['" + a + "'::uuid], now(), null)",
  ]) {
    await denied(t, sql.slice(0, 60), worker.q(sql));
  }
  t.equal(await snapshot(db), before, "nothing changed");
  t.ok(slotA);
});

t.test("the app role acts for one user: its rows only, every check still applies", async (t) => {
  const db = await testDatabase(t);
  const { a, b, slotA, slotB, videosA, videosB } = await twoTenants(db);
  const app = await loginAs(t, db, "upload_scheduler_app");

  await rejects(t, app.q("select * from upload_scheduler.slot_status()"), "UPTEN", /upload_scheduler.user_id is not set/);
  t.same(await app.q("select id from videos"), [], "without a user set it sees no row");
  await app.q("select set_config('upload_scheduler.user_id', $1, false)", [a]);

  t.same((await app.q("select id from users")).map((r) => r.id), [a], "users: its own");
  t.same((await app.q("select id from upload_schedules")).map((r) => r.id), [slotA], "slots: its own");
  t.same((await app.q("select id from videos order by created_at")).map((r) => r.id), videosA, "videos: its own");
  t.same((await app.q("select user_id from upload_scheduler.slot_status(null, $1)", [AT("10:00")])).map((r) => r.user_id), [a]);
  t.same((await app.q("select user_id from upload_scheduler.open_slots($1)", [AT("10:00")])).map((r) => r.user_id), [a]);
  t.same((await app.q("select user_id from upload_scheduler.preview_tick($1)", [AT("10:00")])).map((r) => r.user_id), [a]);

  // Tenant B does not exist, as far as A can tell, and cannot be changed.
  const before = await snapshot(db);
  await rejects(t, app.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [b, AT("10:00")]), "UPNUS");
  await rejects(t, app.q("select * from upload_scheduler.slot_status($1, $2)", [b, AT("10:00")]), "UPNUS");
  await rejects(t, app.q("select * from upload_scheduler.active_slots_for_day($1, 'monday')", [b]), "UPNUS");
  await rejects(t, app.q("select upload_scheduler.upload_count_for_slot($1, $2)", [slotB, AT("10:00")]), "UPNSL");
  await rejects(t, app.q("select upload_scheduler.is_within_time_slot($1, $2)", [slotB, AT("10:00")]), "UPNSL");
  await rejects(t, app.q("select * from upload_scheduler.start_upload($1, $2)", [videosB[0], AT("10:00")]), "UPNVD");
  await rejects(t, app.q("select * from upload_scheduler.retry_video($1)", [videosB[0]]), "UPNVD");
  t.same(await app.q("update videos set title = 'mine now' where user_id = $1 returning id", [b]), [], "B's videos: no row to update");
  t.same(await app.q("delete from upload_schedules where id = $1 returning id", [slotB]), [], "B's slot: no row to delete");
  const refused = await app.q("insert into videos (user_id) values ($1)", [b]).catch((e) => e);
  t.ok(["42501", "UPNUS"].includes(refused.code), `a video for B is refused: ${refused.message}`);
  const refusedSlot = await app.q("insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'friday', '09:00', '10:00')", [b]).catch((e) => e);
  t.ok(["42501", "UPNUS"].includes(refusedSlot.code), `a slot for B is refused: ${refusedSlot.message}`);
  await denied(t, "run_tick", app.q("select * from upload_scheduler.run_tick()"));
  await denied(t, "claim_due_videos", app.q("select * from upload_scheduler.claim_due_videos()"));
  await denied(t, "the ledger", app.q("update upload_scheduler.places set released_at = now()"));
  await denied(t, "reading the ledger", app.q("select * from upload_scheduler.places"));
  t.equal(await snapshot(db), before, "nothing of B (or anyone) changed");

  // A's own work, end to end, through every check.
  await rejects(t, app.q("insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'monday', '11:00', '12:00')", [a]), "UPOVL");
  await denied(t, "moving a video by plain UPDATE (the functions do that)", app.q("update videos set status = 'success' where id = $1", [videosA[2]]));
  await app.q("update videos set title = 'renamed' where id = $1", [videosA[2]]);
  await app.q("insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name) values ($1, 'monday', '12:00', '13:00', 1, 'noon')", [a]);
  await app.q("insert into videos (user_id, title, created_at) values ($1, 'late addition', now())", [a]);
  const [claimed] = await app.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [a, AT("09:30")]);
  t.equal(claimed.id, videosA[0], "it claims its user's oldest video");
  const [started] = await app.q("select * from upload_scheduler.start_upload($1, $2)", [claimed.id, AT("09:31")]);
  await app.q("select * from upload_scheduler.finish_upload($1, false, 'nope', $2)", [started.id, AT("09:32")]);
  await app.q("select * from upload_scheduler.retry_video($1)", [started.id]);
  t.same((await app.q("select outcome, error from upload_attempts")), [{ outcome: "failed", error: "nope" }], "and reads its history");
  // An upload a worker runs is not the application's to end (it could then be retried, and
  // uploaded twice, while the worker still uploads it).
  const [next] = await app.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [a, AT("12:30")]);
  await db.q("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'host:1', $2)", [next.id, AT("12:31")]);
  await rejects(t, app.q("select * from upload_scheduler.finish_upload($1, false, 'app says failed', $2)", [next.id, AT("12:32")]), "UPOWN");
  await denied(t, "finish_upload_attempt (the runner's)", app.q("select * from upload_scheduler.finish_upload_attempt($1, 1, 'success', null, $2)", [next.id, AT("12:32")]));
  await denied(t, "start_upload_attempt (the runner's)", app.q("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'x', $2)", [next.id, AT("12:32")]));
  t.equal((await db.q("select status from videos where id = $1", [next.id]))[0].status, "uploading", "the worker's upload goes on");
  await app.q("select set_config('upload_scheduler.user_id', $1, false)", [b]);
  t.same(await app.q("select id from upload_attempts"), [], "switched to B, A's history is gone from view");
  t.same(await countersDrift(db), []);
});

t.test("npm start as the worker role, migrations by the owner: uploads run end to end", async (t) => {
  const db = await testDatabase(t);
  const worker = await loginAs(t, db, "upload_scheduler_worker");
  t.equal(await prepareDatabase(worker.url, undefined), "checked", "the worker role alone only checks an up-to-date database");
  const [latest] = await db.q("delete from graphile_migrate.migrations where filename = (select max(filename) from graphile_migrate.migrations) returning *");
  await t.rejects(prepareDatabase(worker.url, undefined), /needs 1 migration\(s\) .* set MIGRATE_DATABASE_URL .* or run `npm run db:migrate` as the owner/,
    "and says what to do when it is not");
  await db.q("insert into graphile_migrate.migrations select * from json_populate_record(null::graphile_migrate.migrations, $1)", [latest]);
  await db.q("alter schema graphile_worker rename to graphile_worker_away");
  await t.rejects(prepareDatabase(worker.url, undefined), /graphile_worker\) is not installed .* set MIGRATE_DATABASE_URL/,
    "nor install Graphile Worker's schema");
  await db.q("alter schema graphile_worker_away rename to graphile_worker");
  t.equal(await prepareDatabase(worker.url, db.url), "migrated", "MIGRATE_DATABASE_URL (the owner) migrates it");

  const log = mediaLog();
  const [{ id: user }] = await db.q("insert into users (time_zone) values ('UTC') returning id");
  // Two slots cover the whole day whatever minute the test runs in.
  await db.q(
    `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
     select $1, d, '00:00', '23:59:59', 10
     from unnest(array[to_char(now() at time zone 'UTC', 'FMday'), to_char((now() + interval '1 day') at time zone 'UTC', 'FMday')]) d`,
    [user]);
  await db.q("insert into videos (user_id, title, created_at) select $1, 'ok', now() + g * interval '1 ms' from generate_series(1, 3) g", [user]);
  const proc = startWorker(t, { ...db, url: worker.url }, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file, MIGRATE_DATABASE_URL: db.url });
  await waitFor("the worker to start", async () => proc.events("worker_started").length > 0);
  await db.q("select graphile_worker.add_job('schedule_uploads')");
  await waitFor("three uploads", async () => (await db.q("select count(*)::int as n from videos where status = 'success'"))[0].n === 3)
    .catch((e) => { console.error(proc.output()); throw e; });
  t.equal(log.entries().filter((e) => e.event === "call").length, 3, "each video uploaded once");
  const [{ workers }] = await db.q("select array_agg(distinct worker) as workers from upload_attempts");
  t.match(workers, [/^.+:\d+$/], "the attempts name the worker (host:pid)");
  proc.child.kill("SIGTERM");
  t.equal(await proc.exited, 0);
});
