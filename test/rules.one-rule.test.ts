// One rule: "may this user's videos be claimed now, where, and how many?" is answered by
// upload_scheduler_private.claimable alone. Every reader and writer is held against it here, at
// many instants of a random week (zones with and without daylight saving time, exceptions, pauses,
// pacing, used places): the claims, preview_tick, open_slots, find_active_slot, slot_status, the
// due bookkeeping (never late) and the forecast.
import t from "tap";
import { testDatabase, type TestDatabase } from "./fixtures/db.js";
import { addUser, queueVideos } from "./fixtures/scenario.js";

const ZONES = ["Asia/Kolkata", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"];
const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const MINUTE = 60_000;

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]! };
}

async function randomWeek(db: TestDatabase, seed: number) {
  const rnd = random(seed);
  const users: string[] = [];
  for (let i = 0; i < 10; i++) {
    const user = await addUser(db, ZONES[i % ZONES.length]);
    users.push(user);
    for (const day of DAYS) {
      // Up to three disjoint slots a day, some paced, some off.
      let from = rnd.int(6 * 60);
      for (let k = 0; k < 3 && from < 23 * 60; k++) {
        const to = Math.min(from + 20 + rnd.int(240), 24 * 60 - 1);
        const hhmm = (m: number, s = "00") => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}:${s}`;
        await db.q(
          `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, min_interval, is_active)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [user, day, hhmm(from), hhmm(to, "59"), rnd.int(4), rnd.next() < 0.3 ? `${5 + rnd.int(60)} minutes` : null, rnd.next() < 0.9]);
        from = to + 1 + rnd.int(120);
      }
    }
    await queueVideos(db, user, 6 + rnd.int(10), "2026-11-20T00:00:00Z");
    if (rnd.next() < 0.3) {
      await db.q("insert into upload_schedule_exceptions (user_id, local_date, max_uploads) values ($1, $2, $3)",
        [user, `2026-12-0${1 + rnd.int(7)}`, rnd.int(3)]);
    }
    if (rnd.next() < 0.2) await db.q("update users set uploads_paused_until = $2, pause_reason = 'r' where id = $1", [user, `2026-12-0${1 + rnd.int(5)} 12:00Z`]);
  }
  return { users, rnd };
}

const rule = (db: TestDatabase, users: string[], at: string) =>
  db.q("select * from upload_scheduler_private.claimable($1::uuid[], $2) order by user_id", [users, at]);

t.test("every reader and writer agrees with the rule, at every instant tried", async (t) => {
  const db = await testDatabase(t);
  const { users, rnd } = await randomWeek(db, 7);
  const instants: string[] = [];
  for (let i = 0; i < 30; i++) instants.push(new Date(Date.parse("2026-11-30T00:00:00Z") + rnd.int(7 * 24 * 60) * MINUTE + rnd.int(60) * 1000).toISOString());
  let open = 0;
  let withRoom = 0;
  const client = await db.connect();
  for (const at of instants) {
    const rows = await rule(db, users, at);
    t.equal(rows.length, users.length, "one row per user");
    const opened = rows.filter((r) => r.slot_id);
    open += opened.length;
    withRoom += rows.filter((r) => r.room > 0).length;

    const preview = await db.q("select user_id, slot_id, max_uploads, used, room, note from upload_scheduler.preview_tick($1) order by user_id", [at]);
    t.same(preview, opened.map((r) => ({ user_id: r.user_id, slot_id: r.slot_id, max_uploads: r.quota, used: r.used, room: r.room, note: r.note })),
      `preview_tick at ${at}`);
    const slots = await db.q("select user_id, slot_id, max_uploads, used from upload_scheduler.open_slots($1) order by user_id", [at]);
    t.same(slots, opened.map((r) => ({ user_id: r.user_id, slot_id: r.slot_id, max_uploads: r.quota, used: r.used })), `open_slots at ${at}`);
    const active = await db.q(
      "select x.user_id, (select s.id from upload_scheduler.find_active_slot(x.user_id, $2) s) as slot_id from unnest($1::uuid[]) as x (user_id) order by 1",
      [users, at]);
    t.same(active, rows.map((r) => ({ user_id: r.user_id, slot_id: r.slot_id && r.used < r.quota ? r.slot_id : null })), `find_active_slot at ${at}`);
    const status = await db.q("select user_id, slot_id, room_today, quota_today, used_today from upload_scheduler.slot_status(null, $1) where is_open_now order by user_id", [at]);
    t.same(status, opened.map((r) => ({ user_id: r.user_id, slot_id: r.slot_id, room_today: Math.max(r.quota - r.used, 0), quota_today: r.quota, used_today: r.used })),
      `slot_status's open slots at ${at}`);

    // The claims take exactly the rule's room (or what waits), in a transaction rolled back.
    await client.query("begin");
    const claimed = (await client.query("select user_id from upload_scheduler.claim_due_videos($1)", [at])).rows;
    await client.query("rollback");
    const waiting = new Map((await db.q("select user_id, count(*)::int as n from videos where status = 'initiate' group by 1")).map((w) => [w.user_id, w.n]));
    const perUser = new Map<string, number>();
    for (const c of claimed) perUser.set(c.user_id, (perUser.get(c.user_id) ?? 0) + 1);
    t.same(Object.fromEntries(rows.map((r) => [r.user_id, perUser.get(r.user_id) ?? 0])),
      Object.fromEntries(rows.map((r) => [r.user_id, Math.min(r.room, waiting.get(r.user_id) ?? 0)])), `claim_due_videos at ${at}`);
    const one = rows.find((r) => r.room > 0);
    if (one) {
      await client.query("begin");
      const single = (await client.query("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [one.user_id, at])).rows;
      await client.query("rollback");
      t.equal(single.length, 1, "find_next_video_to_upload claims where the rule gives room");
    }
  }
  t.ok(open >= 16 && withRoom >= 5, `the instants tried met open slots (${open}) and room (${withRoom})`);
});

t.test("the due bound is never late and the forecast is the rule played forward", async (t) => {
  const db = await testDatabase(t);
  const { users } = await randomWeek(db, 11);
  // Some places taken first, so that used slots and pacing matter.
  for (const at of ["2026-11-30T05:00:00Z", "2026-11-30T11:00:00Z", "2026-12-01T03:30:00Z"]) {
    await db.q("select upload_scheduler.claim_due_videos($1)", [at]);
  }
  const from = "2026-12-01T04:00:00Z";
  await db.q("select upload_scheduler.claim_due_videos($1)", [from]);
  const due = new Map((await db.q("select user_id, due_at from upload_scheduler.user_due")).map((d) => [d.user_id, d.due_at as Date]));
  const forecast = await db.q(
    "select distinct on (user_id) user_id, expected_at from upload_scheduler.upcoming_uploads(null, '2 days', $1) order by user_id, queue_position", [from]);
  const first = new Map(forecast.map((f) => [f.user_id, f.expected_at as Date | null]));
  // Minute by minute over a day: the first minute the rule gives room, for each user.
  const firstRoom = new Map<string, number>();
  for (let at = Date.parse(from) + MINUTE; at <= Date.parse(from) + 24 * 60 * MINUTE; at += MINUTE) {
    for (const r of await rule(db, users, new Date(at).toISOString())) {
      if (r.room > 0 && !firstRoom.has(r.user_id)) firstRoom.set(r.user_id, at);
    }
  }
  t.ok(firstRoom.size >= 3, `${firstRoom.size} users get room within the day`);
  for (const user of users) {
    const room = firstRoom.get(user);
    if (room === undefined) continue;
    t.ok(due.get(user)!.getTime() <= room, `the due bound (${due.get(user)?.toISOString()}) is not after the first room (${new Date(room).toISOString()})`);
    t.equal(first.get(user)?.getTime(), room, "the forecast's first claim is the first minute the rule gives room");
  }
});
