// The platforms' limits, beside the slots: "at most N in any rolling window" (Instagram: 50 in 24
// hours) and "at most N per calendar day in a zone" (YouTube: its quota resets at midnight Pacific).
// Every claim respects them, with the slot quotas, however many sessions race; pending, uploading
// and uploaded count, failed and given back do not; the preview and the forecast say so.
import t from "tap";
import { UploadSchedulerService } from "../src/service.js";
import { rejects, testDatabase, type TestDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

const claim = async (db: TestDatabase, user: string, at: string) =>
  (await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, at])).length;

/** A user open all week in UTC (room 100 a slot), with `videos` waiting. */
async function openAllWeek(db: TestDatabase, videos: number, zone = "UTC") {
  const user = await addUser(db, zone);
  for (const day of ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]) {
    await addSlot(db, user, { day, start: "00:00", end: "23:59:59", max: 100 });
  }
  const ids = await queueVideos(db, user, videos);
  return { user, ids };
}

t.test("a rolling limit: at most 3 in any 24 hours; the window moves with each claim", async (t) => {
  const db = await testDatabase(t);
  const { user } = await openAllWeek(db, 10);
  await db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 3, '24 hours')", [user]);
  t.equal(await claim(db, user, "2026-11-30T10:00:00Z"), 1);
  t.equal(await claim(db, user, "2026-11-30T12:00:00Z"), 1);
  t.equal(await claim(db, user, "2026-11-30T20:00:00Z"), 1);
  t.equal(await claim(db, user, "2026-11-30T23:00:00Z"), 0, "the fourth in 24 hours is refused");
  const [status] = await db.q("select room, note from upload_scheduler.preview_tick('2026-12-01T09:00:00Z') where user_id = $1", [user]);
  t.match(status, { room: 0, note: /^limit: 3 of 3 in any 24:00:00 \(until 2026-12-01 10:00:00\+00\)$/ }, "the preview says which limit holds, and until when");
  t.match(await db.q("select max_uploads, used, room, holds_until from upload_scheduler.limit_status($1, '2026-12-01T09:00:00Z')", [user]),
    [{ max_uploads: 3, used: 3, room: 0, holds_until: new Date("2026-12-01T10:00:00Z") }], "limit_status says it holds the user, and until when");
  t.equal(await claim(db, user, "2026-12-01T09:59:59Z"), 0, "still within 24 hours of the first");
  t.equal(await claim(db, user, "2026-12-01T10:00:00Z"), 1, "24 hours after the first claim, one more");
  t.same(await countersDrift(db), []);
});

t.test("a calendar limit in a zone: at most 2 per day from midnight in America/Los_Angeles", async (t) => {
  const db = await testDatabase(t);
  const { user } = await openAllWeek(db, 10);
  await db.q("insert into upload_limits (user_id, max_uploads, per, time_zone) values ($1, 2, '1 day', 'America/Los_Angeles')", [user]);
  // Midnight in Los Angeles is 08:00 UTC (PST).
  t.equal(await claim(db, user, "2026-11-30T08:00:00Z"), 1);
  t.equal(await claim(db, user, "2026-11-30T20:00:00Z"), 1);
  t.equal(await claim(db, user, "2026-12-01T07:59:59Z"), 0, "the same Pacific day: full");
  t.equal(await claim(db, user, "2026-12-01T08:00:00Z"), 1, "at Pacific midnight the day's count starts again");
});

t.test("a calendar limit's day starts at its real midnight, also on a day the clocks change (Los Angeles, 8 March 2026: 23 hours)", async (t) => {
  const db = await testDatabase(t);
  const { user } = await openAllWeek(db, 10);
  await db.q("insert into upload_limits (user_id, max_uploads, per, time_zone) values ($1, 2, '1 day', 'America/Los_Angeles')", [user]);
  // Saturday 7 March 23:30 PST is 07:30 UTC; Sunday's midnight (still PST) is 08:00 UTC; the
  // clocks go forward at 10:00 UTC; Monday's midnight (PDT) is 07:00 UTC on the 9th.
  t.equal(await claim(db, user, "2026-03-08T07:30:00Z"), 1);
  t.equal(await claim(db, user, "2026-03-08T07:31:00Z"), 1);
  t.equal(await claim(db, user, "2026-03-08T07:32:00Z"), 0, "Saturday's two");
  t.equal(await claim(db, user, "2026-03-08T08:00:00Z"), 1, "Sunday midnight PST: Saturday's claims no longer count");
  t.equal(await claim(db, user, "2026-03-09T06:59:00Z"), 1, "Sunday 23:59 PDT: the second of Sunday");
  t.equal(await claim(db, user, "2026-03-09T06:59:30Z"), 0, "Sunday is full");
  t.equal(await claim(db, user, "2026-03-09T07:00:00Z"), 1, "Monday midnight PDT, an hour earlier in UTC");
});

t.test("what counts: pending, uploading and uploaded; a failed upload and a claim given back do not", async (t) => {
  const db = await testDatabase(t);
  const { user, ids } = await openAllWeek(db, 6);
  await db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 2, '1 hour')", [user]);
  const at = (m: number) => new Date(Date.parse("2026-11-30T10:00:00Z") + m * 60_000).toISOString();
  t.equal(await claim(db, user, at(0)), 1);
  t.equal(await claim(db, user, at(1)), 1);
  t.equal(await claim(db, user, at(2)), 0, "two held (pending)");
  await db.q("select upload_scheduler.start_upload($1, $2)", [ids[0], at(3)]);
  await db.q("select upload_scheduler.finish_upload($1, true, null, $2)", [ids[0], at(4)]);
  t.equal(await claim(db, user, at(5)), 0, "an uploaded one still counts");
  await db.q("select upload_scheduler.start_upload($1, $2)", [ids[1], at(6)]);
  await db.q("select upload_scheduler.finish_upload($1, false, 'platform said no', $2)", [ids[1], at(7)]);
  t.equal(await claim(db, user, at(8)), 1, "a failed one does not");
  await db.q("select upload_scheduler.reset_stale_pending_videos('1 minute', $1)", [at(20)]);
  t.equal(await claim(db, user, at(21)), 1, "nor one given back to the queue");
});

t.test("limits and slot quotas together: the smaller room wins; several limits, the least", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db, "UTC");
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 5 });
  await queueVideos(db, user, 10);
  await db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 4, '2 hours'), ($1, 3, '7 days')", [user]);
  const claimed = await db.q("select id from upload_scheduler.claim_due_videos('2026-11-30T09:00:00Z')");
  t.equal(claimed.length, 3, "5 in the slot, 4 in 2 hours, 3 in 7 days: 3");
  const forecast = await new UploadSchedulerService(db.pool).upcomingUploads({ userId: user, now: "2026-11-30T09:00:00Z", horizon: "14 days" });
  t.ok(forecast.length > 0 && forecast.every((f) => f.expectedAt === null || f.expectedAt.toMillis() >= Date.parse("2026-12-07T09:00:00Z")),
    "the forecast puts the next claims after the 7-day window frees one");
});

t.test("sixteen sessions racing to claim for one user never pass a limit", async (t) => {
  const db = await testDatabase(t, { poolSize: 16 });
  const { user } = await openAllWeek(db, 40);
  await db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 7, '1 day')", [user]);
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
    i % 2 ? claim(db, user, "2026-11-30T10:00:00Z") : db.q("select id from upload_scheduler.claim_due_videos('2026-11-30T10:00:00Z')").then((r) => r.length)));
  t.equal(results.reduce((a, b) => a + b, 0), 7, "exactly the limit, no more");
  t.same((await db.q("select count(*)::int as n from videos where status = 'pending'"))[0], { n: 7 });
  t.same(await countersDrift(db), []);
});

t.test("bad limits are refused with a SQLSTATE, a message and a hint, and change nothing", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const before = await snapshot(db);
  await rejects(t, db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, -1, '1 day')", [user]), "UPQTA", /max_uploads -1 is missing or negative/);
  await rejects(t, db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, null, '1 day')", [user]), "UPQTA");
  await rejects(t, db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 5, '10 seconds')", [user]), "UPARG", /not an interval from 1 minute to 366 days/);
  await rejects(t, db.q("insert into upload_limits (user_id, max_uploads, per, time_zone) values ($1, 5, '12 hours', 'UTC')", [user]), "UPARG", /not a whole number of days/);
  await rejects(t, db.q("insert into upload_limits (user_id, max_uploads, per, time_zone) values ($1, 5, '1 day', 'Mars/Olympus')", [user]), "UPTZN");
  await rejects(t, db.q("insert into upload_limits (user_id, max_uploads, per) values ('00000000-0000-4000-8000-000000000000', 5, '1 day')"), "UPNUS");
  await rejects(t, db.q("insert into upload_limits (max_uploads, per) values (5, '1 day')"), "UPNUS");
  t.equal(await snapshot(db), before);
  t.same(await db.q("select count(*)::int as n from upload_limits"), [{ n: 0 }]);
  const [{ id }] = await db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 5, '1 day') returning id", [user]);
  const other = await addUser(db);
  await rejects(t, db.q("update upload_limits set user_id = $1 where id = $2", [other, id]), "UPIMM", /The user of limit .* cannot change/);
});

t.test("limits in set_schedule's JSON: {slots, limits} replaces both, get_schedule(u, true) gives them back, and a bad limit changes nothing", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const week = {
    slots: [{ day: "monday", start_time: "09:00:00", end_time: "11:59:59", max_uploads: 3 }],
    limits: [
      { max_uploads: 50, per: "24 hours", note: "Instagram: 50 in any 24 hours" },
      { max_uploads: 10, per: "1 day", time_zone: "America/Los_Angeles" },
    ],
  };
  await db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify(week)]);
  const [{ back }] = await db.q("select upload_scheduler.get_schedule($1, true) as back", [user]);
  t.match(back.slots, [{ day: "monday", start_time: "09:00:00", end_time: "11:59:59", max_uploads: 3 }], "the slots come back");
  t.same(back.limits, [
    { max_uploads: 50, per: "24:00:00", time_zone: null, note: "Instagram: 50 in any 24 hours" },
    { max_uploads: 10, per: "1 day", time_zone: "America/Los_Angeles", note: null },
  ], "and the limits, rolling first");
  const [{ array }] = await db.q("select upload_scheduler.get_schedule($1) as array", [user]);
  t.same(array, back.slots, "get_schedule(u) is still the week's array alone");

  // Round trip: nothing changes, ids kept.
  const ids = async () => (await db.q("select id from upload_limits where user_id = $1 order by id", [user])).map((r: any) => r.id);
  const idsBefore = await ids();
  const before = await snapshot(db);
  await db.q("select upload_scheduler.set_schedule($1, upload_scheduler.get_schedule($1, true))", [user]);
  t.equal(await snapshot(db), before, "set_schedule(u, get_schedule(u, true)) changes nothing");
  t.same(await ids(), idsBefore, "the limits keep their ids");

  // The array form leaves the limits alone; {"limits": [...]} alone leaves the week alone.
  await db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify(week.slots)]);
  t.same(await ids(), idsBefore, "an array replaces the week only");
  await db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify({ limits: [{ max_uploads: 1, per: "1 hour" }] })]);
  t.match(await db.q("select max_uploads, per::text from upload_limits where user_id = $1", [user]), [{ max_uploads: 1, per: "01:00:00" }],
    "the limits are replaced");
  t.equal((await db.q("select count(*)::int as n from upload_schedules where user_id = $1", [user]))[0].n, 1, "the week is kept");
  await queueVideos(db, user, 3);
  // Monday 09:30 and 09:40 in Kolkata: the slot has room for 3, the new limit for 1 an hour.
  t.equal(await claim(db, user, "2026-11-30T04:00:00Z"), 1, "one claimed");
  t.equal(await claim(db, user, "2026-11-30T04:10:00Z"), 0, "the new limit is the claim's: no second within the hour");

  const state = await snapshot(db);
  const bad: Array<[unknown, string, RegExp]> = [
    [{ limits: [{ max_uploads: -1, per: "1 day" }] }, "UPQTA", /^limit 1 \(-1 per 1 day\): Limit max_uploads -1 is missing or negative/],
    [{ limits: [{ max_uploads: 1, per: "1 day", time_zone: "Mars/Base" }] }, "UPTZN", /^limit 1 .*Mars\/Base/],
    [{ limits: [{ max_uploads: 1, per: "30 hours", time_zone: "UTC" }] }, "UPARG", /not a whole number of days/],
    [{ limits: [{ max_uploads: 1, per: "soon" }] }, "UPARG", /per "soon" is not an interval/],
    [{ limits: [{ max_uploads: 1, per: "1 day", every: 2 }] }, "UPJSN", /unknown key "every"/],
    [{ limits: [{ max_uploads: 1, per: "1 day" }, { max_uploads: 1, per: "24 hours" }] }, "UPJSN", /limit 2 repeats limit 1/],
    [{ limits: {} }, "UPJSN", /"limits" is object, not a JSON array/],
    [{ slots: {} }, "UPJSN", /"slots" is object/],
    [{ limit: [] }, "UPJSN", /^p_slots is object, not a JSON array of slots nor .*: unknown key "limit"/],
    [{}, "UPJSN", /neither "slots" nor "limits"/],
    // A good slot beside a bad limit: all or nothing.
    [{ slots: [], limits: [{ max_uploads: "many", per: "1 day" }] }, "UPQTA", /max_uploads "many" is not a whole number/],
  ];
  for (const [json, code, message] of bad) {
    await rejects(t, db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify(json)]), code, message);
  }
  await rejects(t, db.q("select upload_scheduler.get_schedule($1, null)", [user]), "UPARG", /p_with_limits is NULL/);
  t.equal(await snapshot(db), state, "none of them changed anything");
  t.equal((await db.q("select count(*)::int as n from upload_limits"))[0].n, 1);

  // Through the typed client.
  const service = new UploadSchedulerService(db.pool);
  await service.setSchedule(user, { limits: [] });
  t.same((await service.getSchedule(user, { withLimits: true })).limits, [], "[] removes every limit");
});

t.test("health() and the metrics say how many users a limit holds, and until when", async (t) => {
  const db = await testDatabase(t);
  const { user } = await openAllWeek(db, 5);
  const { user: free } = await openAllWeek(db, 5);
  await db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 1, '2 hours'), ($2, 10, '2 hours')", [user, free]);
  const health = async (at: string) => (await db.q("select users_limited, limited_until from upload_scheduler.health(p_now => $1)", [at]))[0];
  t.same(await health("2026-11-30T10:00:00Z"), { users_limited: 0, limited_until: null }, "no limit full: nobody held");
  t.equal(await claim(db, user, "2026-11-30T10:00:00Z"), 1);
  t.equal(await claim(db, free, "2026-11-30T10:00:00Z"), 1);
  t.same(await health("2026-11-30T10:30:00Z"), { users_limited: 1, limited_until: new Date("2026-11-30T12:00:00Z") },
    "the user whose limit is full, until the window moves past its claim");
  t.same(await health("2026-11-30T12:00:00Z"), { users_limited: 0, limited_until: null }, "two hours later, nobody");
  const service = new UploadSchedulerService(db.pool);
  const h = await service.health({ now: "2026-11-30T10:30:00Z" });
  t.equal(h.usersLimited, 1);
  t.equal(h.limitedUntil?.toUTC().toISO(), "2026-11-30T12:00:00.000Z");
});

t.test("a retry-later from a destination holds the user's claims until the time it gives, then the tick claims again", async (t) => {
  const db = await testDatabase(t);
  const { user, ids } = await openAllWeek(db, 3);
  const tick = async (at: string) => (await db.q("select id from upload_scheduler.claim_due_videos($1)", [at])).map((r: any) => r.id);
  t.equal((await tick("2026-11-30T10:00:00Z")).length, 3, "three claimed");
  const [begun] = await db.q("select (b).attempt, (b).token from upload_scheduler.begin_attempt($1, 'host:1', '1 minute', '5 minutes', '2026-11-30T10:00:00Z') b",
    [ids[0]]);
  await db.q("select upload_scheduler.end_attempt($1, $2, $3, 'retry_later', '429 quotaExceeded', null, '2026-11-30T14:00:00Z', '2026-11-30T10:01:00Z')",
    [ids[0], begun.attempt, begun.token]);
  // The other two go back to the queue (their claims were never started).
  await db.q("select upload_scheduler.reset_stale_pending_videos('30 minutes', '2026-11-30T11:00:00Z')");
  const [held] = await db.q("select held_until, hold_reason from users where id = $1", [user]);
  t.match(held, { held_until: new Date("2026-11-30T14:00:00Z"), hold_reason: /429 quotaExceeded/ }, "the user is held until 14:00");
  t.match(await db.q("select room, note from upload_scheduler.preview_tick('2026-11-30T13:59:00Z') where user_id = $1", [user]),
    [{ room: 0, note: /^paused until 2026-11-30 14:00:00\+00: held: 429 quotaExceeded/ }], "the preview says why and until when");
  t.same(await tick("2026-11-30T13:59:00Z"), [], "nothing is claimed while it holds");
  t.equal((await tick("2026-11-30T14:00:00Z")).length, 3, "at 14:00 the tick claims the user's videos again");
});
