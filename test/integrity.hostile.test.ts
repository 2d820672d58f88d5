// What a hostile trial of the integrity work broke, each now a test: a temp view that stood in
// for pg_roles, uploads detached from their slot, slots re-created under their old id or
// switched off, uploads started outside any slot, times out of range, a tenant's open
// transaction stalling everyone's tick.
import t from "tap";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { kolkata, rejects, testDatabase, type TestDatabase } from "./fixtures/db.js";
import { withAdmin } from "./fixtures/template.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`);

async function uploaded(db: TestDatabase, user: string, at: string) {
  const [v] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT(at)]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [v.id, AT(at)]);
  await db.q("select upload_scheduler.finish_upload($1, true, null, $2)", [v.id, AT(at)]);
  return v.id as string;
}

const used = async (db: TestDatabase, slot: string) =>
  (await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [slot, AT("12:00")]))[0].n as number;

t.test("an application session cannot widen its scope with a temp view named like a catalog", async (t) => {
  const db = await testDatabase(t);
  const a = await addUser(db);
  const b = await addUser(db);
  await addSlot(db, b, { day: "monday", start: "09:00", end: "09:59:59", name: "b's secret" });
  const name = `upsched_app_${randomBytes(4).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create role ${name} login password '${name}' in role upload_scheduler_app`));
  const url = new URL(db.url);
  url.username = name;
  // A password too: the embedded PostgreSQL (npm test without DATABASE_URL) asks for one.
  url.password = name;
  const app = new pg.Client({ connectionString: url.toString() });
  await app.connect();
  t.teardown(async () => {
    await app.end();
    await withAdmin((admin) => admin.query(`drop role if exists ${name}`));
  });
  await app.query("select set_config('upload_scheduler.user_id', $1, false)", [a]);
  await app.query("create temp view pg_roles as select session_user::name as rolname, true as rolsuper");
  await app.query("create temp table users (id uuid, time_zone text)");
  t.same((await app.query("select slot_name from upload_scheduler.slot_status(null, $1)", [AT("09:00")])).rows, [],
    "still only its own user's slots (every function reads pg_catalog and the tables before pg_temp)");
  const error = await app.query("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [b, AT("09:00")]).catch((e) => e);
  t.equal(error.code, "UPNUS");
});

t.test("an upload cannot be moved off its slot by hand; deleted, it keeps its place", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "09:59:59", max: 1 });
  await queueVideos(db, user, 3);
  const done = await uploaded(db, user, "09:00");
  await rejects(t, db.q("update videos set slot_id = null, slot_date = null where id = $1", [done]), "UPMOV");
  await db.q("delete from videos where id = $1", [done]);
  t.equal(await used(db, slot), 1, "the place is kept");
  t.same(await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:10")]), [], "the slot stays full");
  t.same(await countersDrift(db), []);
});

t.test("a slot deleted and re-created under its old id, or switched off and replaced, keeps the day's uses", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "09:59:59", max: 1 });
  await queueVideos(db, user, 4);
  await uploaded(db, user, "09:00");
  const [row] = await db.q("delete from upload_schedules where id = $1 returning *", [slot]);
  await db.q("insert into upload_schedules select * from json_populate_record(null::upload_schedules, $1)", [row]);
  t.equal(await used(db, slot), 1, "re-created with its id, it inherits its old use");
  t.same(await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:10")]), []);

  await db.q("update upload_schedules set is_active = false where id = $1", [slot]);
  const replacement = await addSlot(db, user, { day: "monday", start: "09:00", end: "09:59:59", max: 1 });
  t.equal(await used(db, replacement), 1, "a slot replacing one switched off inherits its uses");
  t.same(await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:20")]), []);
  t.same(await countersDrift(db), []);
});

t.test("an upload starts inside its slot: not without one, not before it opens, not by hand outside it; attempts grow", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "09:59:59", max: 5 });
  // Inserted as history: a claim into no slot, a claim into next Monday's slot, one into today's.
  const pending = async (slotId: string | null, date: string | null) => (await db.q(
    "insert into videos (user_id, status, slot_id, slot_date, claimed_at) values ($1, 'pending', $2, $3, $4) returning id",
    [user, slotId, date, AT("09:00")]))[0].id as string;
  const a = await pending(null, null);
  const [noSlot] = await db.q("select * from upload_scheduler.start_upload($1, $2)", [a, AT("09:01")]);
  t.match(noSlot, { status: "initiate", last_outcome: "late" }, "claimed into no slot: back to the queue, not uploaded");
  const b = await pending(slot, "2026-12-07");
  await rejects(t, db.q("select upload_scheduler.start_upload($1, $2)", [b, AT("09:05")]), "UPARG", /before the slot of video .* opens/);
  const c = await pending(slot, "2026-11-30");
  const before = await snapshot(db);
  for (const [what, sql] of [
    ["a start by hand", "update videos set status = 'uploading', started_at = $2, attempts = 1 where id = $1"],
    ["a start without its attempt", "update videos set status = 'uploading', started_at = $2 where id = $1"],
    ["a claim moved to infinity", "update videos set claimed_at = 'infinity' where id = $1 and $2::timestamptz is not null"],
    ["a slot_date at infinity", "update videos set slot_date = 'infinity' where id = $1 and $2::timestamptz is not null"],
  ] as const) {
    const error = await rejects(t, db.q(sql, [c, AT("09:05")]), "UPMOV");
    t.ok(error, what);
  }
  await rejects(t, db.q("update videos set created_at = '-infinity' where id = $1", [c]), "UPROW", /outside the years 1900 to 2199/);
  t.equal(await snapshot(db), before, "none of it changed anything");
  await rejects(t, db.q("select * from upload_scheduler.current_time_info('UTC', '294276-12-31 23:00+00')"), "UPARG", /outside the instants the scheduler handles/);
  t.same(await countersDrift(db), []);
});

t.test("a deleted user leaves no places behind for a user created later with its id", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "09:59:59", max: 3 });
  await queueVideos(db, user, 3);
  await uploaded(db, user, "09:00");
  await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:05")]);
  await db.q("delete from users where id = $1", [user]);
  t.same(await db.q("select * from upload_scheduler.places"), []);
  t.same(await db.q("select * from upload_scheduler.due_marks"), []);
  t.same(await db.q("select * from upload_scheduler.user_due"), []);
});

t.test("one tenant's open transaction on its schedule does not stall the tick for anyone else", async (t) => {
  const db = await testDatabase(t);
  const a = await addUser(db);
  const b = await addUser(db);
  await addSlot(db, a, { day: "monday", start: "09:00", end: "09:59:59", max: 2, name: "a" });
  await addSlot(db, b, { day: "monday", start: "09:00", end: "09:59:59", max: 2, name: "b" });
  await queueVideos(db, a, 2);
  await queueVideos(db, b, 2);
  const editor = await db.connect();
  await editor.query("begin");
  await editor.query("update upload_schedules set slot_name = 'renamed' where user_id = $1", [a]);
  const claimed = await db.q("select user_id from upload_scheduler.claim_due_videos($1)", [AT("09:00")]);
  t.same(claimed.map((r) => r.user_id), [b, b], "B's videos are claimed while A's schedule is being edited");
  await editor.query("commit");
  const next = await db.q("select user_id from upload_scheduler.claim_due_videos($1)", [AT("09:01")]);
  t.same(next.map((r) => r.user_id), [a, a], "and A's at the next tick");
});

// The second hostile trial.
t.test("claims and starts stamped in the future are not this clock's: the next sweeps give them back", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "09:59:59", max: 3 });
  await queueVideos(db, user, 3);
  // 2199-12-30 is a Monday: a claim and a start there, and a plain pending row from the future.
  const far = (local: string) => kolkata(`2199-12-30 ${local}`);
  await db.q("select upload_scheduler.find_next_video_to_upload($1, $2)", [user, far("09:30")]);
  const [started] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, far("09:31")]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [started.id, far("09:32")]);
  t.equal((await db.q("select overdue_uploads from upload_scheduler.health()"))[0].overdue_uploads, 1, "health counts the start from the future as overdue");

  const now = AT("12:00");
  t.equal((await db.q("select upload_scheduler.reset_stale_pending_videos('30 minutes', $1) as n", [now]))[0].n, 1);
  t.equal((await db.q("select upload_scheduler.fail_interrupted_uploads('35 minutes', $1) as n", [now]))[0].n, 1);
  const rows = await db.q("select status, last_outcome, started_at <= $1 as started_by_now, finished_at = $1 as finished_now from videos where user_id = $2 order by created_at", [now, user]);
  t.same(rows.map((r) => [r.status, r.last_outcome]), [["initiate", "stale"], ["failed", "interrupted"], ["initiate", null]]);
  t.ok(rows[1].started_by_now && rows[1].finished_now, "the failed one's times are brought back to now, so its retry's cool-down counts from now");
  t.match((await db.q("select error from upload_attempts where outcome = 'stale'"))[0].error, /claimed at 2199-12-30 .*, later than now/);
  t.equal(await used(db, slot), 0, "their places are given back");
  // A claim within the sweep's interval ahead (a worker's clock a little fast) is left alone.
  await db.q("select upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:40")]);
  t.equal((await db.q("select upload_scheduler.reset_stale_pending_videos('30 minutes', $1) as n", [AT("09:20")]))[0].n, 0);
  t.same(await countersDrift(db), []);
});
