// "When will my video go out?" The forecast names the tick that will claim each waiting video;
// replaying the ticks minute by minute over four days, across the night New York's clocks go
// back, claims every video at exactly that tick. And the daylight saving rules, one by one.
import t from "tap";
import { rejects, testDatabase, type TestDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos } from "./fixtures/scenario.js";

const MINUTE = 60_000;

async function paced(db: TestDatabase, slot: string, interval: string) {
  await db.q("update upload_schedules set min_interval = $2 where id = $1", [slot, interval]);
}

t.test("replaying the ticks minute by minute realises the forecast exactly, across a DST change", async (t) => {
  const db = await testDatabase(t);
  // Kolkata: the design note's Monday, the morning paced; a Tuesday slot with a date exception.
  const kol = await addUser(db, "Asia/Kolkata");
  const morning = await addSlot(db, kol, { day: "monday", start: "09:00", end: "11:59:59", max: 3, name: "morning" });
  await paced(db, morning, "45 minutes");
  await addSlot(db, kol, { day: "monday", start: "12:00", end: "17:59:59", max: 1, name: "afternoon" });
  const tue = await addSlot(db, kol, { day: "tuesday", start: "10:00", end: "10:30", max: 1, name: "tuesday" });
  await db.q("insert into upload_schedule_exceptions (user_id, local_date, slot_id, max_uploads) values ($1, '2026-11-03', $2, 3)", [kol, tue]);
  // New York: a slot in the hour that happens twice on Sunday 1 November, a paced morning, a
  // Monday whose whole day has an exception.
  const ny = await addUser(db, "America/New_York");
  await addSlot(db, ny, { day: "sunday", start: "01:15", end: "01:45", max: 3, name: "twice" });
  const nyMorning = await addSlot(db, ny, { day: "sunday", start: "08:00", end: "09:00", max: 2, name: "paced" });
  await paced(db, nyMorning, "20 minutes");
  await addSlot(db, ny, { day: "monday", start: "09:00", end: "10:00", max: 1, name: "monday" });
  await db.q("insert into upload_schedule_exceptions (user_id, local_date, max_uploads) values ($1, '2026-11-02', 2)", [ny]);
  // Berlin: paused until Sunday 10:00 UTC (11:00 CET, inside its Sunday slot).
  const ber = await addUser(db, "Europe/Berlin");
  for (const day of ["saturday", "sunday", "monday"]) await addSlot(db, ber, { day, start: "10:00", end: "12:00", max: 2 });
  await db.q("update users set uploads_paused_until = '2026-11-01 10:00Z' where id = $1", [ber]);
  // Kolkata again: a slot open at p_now with one of its two places already used today.
  const today = await addUser(db, "Asia/Kolkata");
  const sat = await addSlot(db, today, { day: "saturday", start: "17:00", end: "18:00", max: 2 });
  await db.q(`insert into videos (user_id, status, slot_id, slot_date, claimed_at, started_at, finished_at, attempts, created_at)
              values ($1, 'success', $2, '2026-10-31', '2026-10-31 11:31Z', '2026-10-31 11:31Z', '2026-10-31 11:32Z', 1, '2026-01-01')`, [today, sat]);
  for (const user of [kol, ny, ber, today]) await queueVideos(db, user, 7);

  const start = "2026-10-31T12:00:30Z"; // Saturday, 17:30:30 in Kolkata: not on a whole minute
  const forecast = await db.q("select * from upload_scheduler.upcoming_uploads(null, '4 days', $1)", [start]);
  t.equal(forecast.length, 28, "every waiting video has a row");
  const expected = forecast.filter((f) => f.expected_at);
  t.ok(expected.length >= 15, `${expected.length} of them expected within four days`);

  // Tick every whole minute from the first one after p_now, for four days.
  const first = Math.ceil(Date.parse(start) / MINUTE) * MINUTE;
  for (let at = first; at < Date.parse(start) + 4 * 24 * 60 * MINUTE; at += MINUTE) {
    await db.q("select 1 from upload_scheduler.claim_due_videos($1)", [new Date(at).toISOString()]);
  }
  const videos = await db.q("select id, status, slot_id, slot_date::text, claimed_at from videos where status in ('initiate', 'pending')");
  const byId = new Map(videos.map((v) => [v.id, v]));
  const mismatches = forecast.filter((f) => {
    const v = byId.get(f.video_id);
    if (!f.expected_at) return v?.status !== "initiate";
    return v?.status !== "pending" || v.claimed_at.getTime() !== f.expected_at.getTime() || v.slot_id !== f.slot_id ||
      v.slot_date !== f.local_date.toISOString().slice(0, 10);
  });
  t.same(mismatches, [], "each video was claimed at its expected_at, in its slot and local date; the rest still wait");

  // A few of the forecast's answers, spelled out.
  const at = (user: string, position: number) => forecast.find((f) => f.user_id === user && f.queue_position === position)?.expected_at?.toISOString();
  t.equal(at(today, 1), "2026-10-31T12:01:00.000Z", "an open slot with room: the next whole minute");
  t.equal(at(today, 2), undefined, "its other place was used today, and next Saturday is beyond four days");
  t.equal(at(ny, 1), "2026-11-01T05:15:00.000Z", "01:15 EDT, the first of the two 01:15s");
  t.equal(at(ny, 3), "2026-11-01T05:15:00.000Z", "three at once");
  t.equal(at(ny, 4), "2026-11-01T13:00:00.000Z", "not again at 01:15 EST: the quota of the date holds; next, 08:00 EST");
  t.equal(at(ny, 5), "2026-11-01T13:20:00.000Z", "paced 20 minutes");
  t.equal(at(ny, 6), "2026-11-02T14:00:00.000Z", "Monday 09:00 EST, with the whole day's exception of 2");
  t.equal(at(ny, 7), "2026-11-02T14:00:00.000Z");
  t.equal(at(ber, 1), "2026-11-01T10:00:00.000Z", "Berlin's Sunday slot, from the minute the pause ends (11:00 CET)");
  t.equal(at(ber, 3), "2026-11-02T09:00:00.000Z", "and Monday 10:00 CET");
  t.equal(at(kol, 1), "2026-11-02T03:30:00.000Z", "Monday 09:00 in Kolkata");
  t.equal(at(kol, 2), "2026-11-02T04:15:00.000Z", "09:45, paced");
  t.same([at(kol, 5), at(kol, 6), at(kol, 7)].map((x) => x ?? null), ["2026-11-03T04:30:00.000Z", "2026-11-03T04:30:00.000Z", "2026-11-03T04:30:00.000Z"],
    "Tuesday 10:00 takes three on its launch day");
  t.same(await countersDrift(db), []);
});

t.test("the forecast follows today's use, changes nothing, and leaves out what does not fit", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 1 });
  const videos = await queueVideos(db, user, 3);
  const rows = await db.q("select video_id, queue_position, local_date::text, expected_at from upload_scheduler.upcoming_uploads($1, '10 days', '2026-11-29 20:00+05:30')", [user]);
  t.same(rows.map((r) => [r.video_id, r.queue_position, r.local_date, r.expected_at?.toISOString() ?? null]), [
    [videos[0], 1, "2026-11-30", "2026-11-30T03:30:00.000Z"],
    [videos[1], 2, "2026-12-07", "2026-12-07T03:30:00.000Z"],
    [videos[2], 3, null, null],
  ], "one a Monday; the third Monday is beyond ten days");
  t.same(await db.q("select count(*)::int as n from videos where status = 'initiate'"), [{ n: 3 }], "nothing was claimed");
  await db.q("select upload_scheduler.pause_uploads($1)", [user]);
  t.same((await db.q("select expected_at from upload_scheduler.upcoming_uploads($1)", [user])).map((r) => r.expected_at), [null, null, null],
    "paused until resumed: nothing expected");
  await rejects(t, db.q("select * from upload_scheduler.upcoming_uploads($1, '2 years')", [user]), "UPARG", /p_horizon/);
});

t.test("daylight saving time, rule by rule (New York)", async (t) => {
  const db = await testDatabase(t);
  const ny = await addUser(db, "America/New_York");
  // Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT. Sunday 1 November: 02:00 EDT back to 01:00 EST.
  await addSlot(db, ny, { day: "sunday", start: "02:10", end: "02:50", max: 5, name: "in the gap" });
  await addSlot(db, ny, { day: "sunday", start: "02:55", end: "03:30", max: 5, name: "starts in the gap" });
  await addSlot(db, ny, { day: "sunday", start: "01:20", end: "01:40", max: 2, name: "in the repeated hour" });
  await queueVideos(db, ny, 12);

  const windows = await db.q(`select slot_name, opens_at, closes_at, note from upload_scheduler.upcoming_windows($1, '1 day', '2026-03-08 00:00-05')
                              order by slot_name`, [ny]);
  t.match(windows, [
    { slot_name: "in the gap", opens_at: null, note: /does not open on 2026-03-08: its local times do not exist that day \(clocks go forward from 02:00 to 03:00\)/ },
    { slot_name: "in the repeated hour", opens_at: new Date("2026-03-08T06:20:00Z"), note: null },
    { slot_name: "starts in the gap", opens_at: new Date("2026-03-08T07:00:00Z"), closes_at: new Date("2026-03-08T07:30:00Z"), note: /opens at 03:00 .* when the clocks go forward/ },
  ]);
  const tick = (iso: string) => db.q("select slot_id from upload_scheduler.claim_due_videos($1)", [iso]);
  for (let m = 6 * 60 + 50; m < 7 * 60; m++) {
    t.same(await tick(new Date(Date.parse("2026-03-08T00:00:00Z") + m * MINUTE).toISOString()), [], "nothing opens in the gap (06:50-06:59 UTC)");
  }
  t.equal((await tick("2026-03-08T07:00:00Z")).length, 5, "03:00 EDT: the slot that starts in the gap opens when the clock resumes");

  const back = await db.q(`select opens_at, closes_at, note from upload_scheduler.upcoming_windows($1, '1 day', '2026-11-01 00:00-04')
                           where slot_name = 'in the repeated hour' order by opens_at`, [ny]);
  t.same(back.map((w) => [w.opens_at.toISOString(), w.closes_at.toISOString()]), [
    ["2026-11-01T05:20:00.000Z", "2026-11-01T05:40:00.000Z"],
    ["2026-11-01T06:20:00.000Z", "2026-11-01T06:40:00.000Z"],
  ], "in the repeated hour the slot is open twice");
  t.match(back[0].note, /open twice on 2026-11-01: local times 01:00 to 02:00 happen twice .* its quota for the date holds across both/);
  t.equal((await tick("2026-11-01T05:20:00Z")).length, 2, "01:20 EDT: two claimed, the quota");
  await db.q("select upload_scheduler.start_upload(id, claimed_at) from videos where status = 'pending'");
  await db.q(`select upload_scheduler.finish_upload(id, false, 'x', started_at) from videos
              where id = (select id from videos where status = 'uploading' and slot_date = '2026-11-01' limit 1)`);
  t.equal((await tick("2026-11-01T06:20:00Z")).length, 1, "01:20 EST: open again, but only the place the failure gave back");
  t.equal((await tick("2026-11-01T06:21:00Z")).length, 0, "the quota per local date holds across both passes");
  t.same(await countersDrift(db), []);
});

t.test("upcoming_windows gives each opening as the user's clock shows it too, and pause notes in local time", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db, "America/New_York");
  await addSlot(db, user, { day: "sunday", start: "01:20", end: "01:40", max: 2, name: "in the repeated hour" });
  await db.q("select upload_scheduler.pause_uploads($1, '2026-11-01 06:30Z', 'travel', '2026-10-31 12:00Z')", [user]);
  const rows = await db.q(`select time_zone, opens_local::text, closes_local::text, note
                           from upload_scheduler.upcoming_windows($1, '1 day', '2026-11-01 00:00-04') order by opens_at`, [user]);
  t.match(rows, [
    { time_zone: "America/New_York", opens_local: "2026-11-01 01:20:00", closes_local: "2026-11-01 01:40:00", note: /paused until 2026-11-01 01:30 America\/New_York: travel/ },
    { time_zone: "America/New_York", opens_local: "2026-11-01 01:20:00", closes_local: "2026-11-01 01:40:00" },
  ], "both openings of the repeated hour read 01:20-01:40 on the user's clock; the pause ends at 01:30 EST, said in local time");
});
