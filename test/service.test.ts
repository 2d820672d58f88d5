// UploadSchedulerService: the SQL API as typed methods, over real PostgreSQL.
import t from "tap";
import { DateTime } from "luxon";
import pg from "pg";
import { UploadSchedulerService, SchedulerError } from "../src/index.js";
import { testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, designNoteMonday, queueVideos } from "./fixtures/scenario.js";

const monday = (time: string, zone = "Asia/Kolkata") => DateTime.fromISO(`2026-11-30T${time}`, { zone });

t.test("every function of schema upload_scheduler has a method, and every method's function exists", async (t) => {
  const db = await testDatabase(t);
  const rows = await db.q("select distinct proname from pg_proc where pronamespace = 'upload_scheduler'::regnamespace order by 1");
  t.same(rows.map((r) => r.proname), Object.keys(UploadSchedulerService.SQL_FUNCTIONS).sort());
  for (const method of Object.values(UploadSchedulerService.SQL_FUNCTIONS)) {
    t.type((UploadSchedulerService.prototype as any)[method], "function", `${method} is a method`);
  }
});

t.test("the design note's service functions, typed, through a whole Monday", async (t) => {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const user = await addUser(db);
  const { morning, afternoon } = await designNoteMonday(db, user);
  const [oldest, second] = await queueVideos(db, user, 3);

  const time = await service.getCurrentTimeInfo(undefined, monday("09:15"));
  t.equal(time.day, "monday");
  t.equal(time.localDate, "2026-11-30");
  t.equal(time.localTime, "09:15:00");
  t.equal(time.timeZone, "Asia/Kolkata");
  t.ok(time.localTimestamp.equals(monday("09:15")), "localTimestamp is the instant, in the zone");
  const [sql] = await db.q("select local_timestamp::text, local_time::text from upload_scheduler.current_time_info('Asia/Kolkata', $1)", [monday("09:15").toISO()]);
  t.equal(time.localTimestamp.toFormat("yyyy-MM-dd HH:mm:ss"), sql.local_timestamp, "the same values as current_time_info");

  const slots = await service.getActiveSlotsForDay(user, "Monday");
  t.same(slots.map((s) => [s.id, s.slotName, s.startTime, s.endTime, s.maxUploads]), [
    [morning, "morning", "09:00:00", "11:59:59", 1],
    [afternoon, "afternoon", "12:00:00", "17:59:59", 1],
  ]);
  t.equal(await service.isWithinTimeSlot(morning, monday("11:59:59")), true);
  t.equal(await service.isWithinTimeSlot(morning, monday("12:00:00").toJSDate()), false, "a JS Date works as now too");
  t.equal((await service.findActiveSlot(user, monday("09:15")))?.id, morning);

  const video = await service.findNextVideoToUpload(user, monday("09:15"));
  t.equal(video?.id, oldest);
  t.equal(video?.status, "pending");
  t.equal(video?.slotDate, "2026-11-30");
  t.equal(video?.claimedAt?.zoneName, "Asia/Kolkata", "timestamps come back in the user's zone");
  t.equal(video?.claimedAt?.toFormat("HH:mm"), "09:15");
  t.equal(await service.getUploadCountForSlot(morning, monday("10:00")), 1);
  t.equal(await service.findActiveSlot(user, monday("10:00")), null, "a full slot is not active");
  t.equal(await service.findNextVideoToUpload(user, monday("10:00")), null);

  const started = await service.startUpload(oldest!, monday("09:16"));
  t.equal(started.status, "uploading");
  t.equal(started.attempts, 1);
  const failed = await service.finishUpload(oldest!, false, "platform down", monday("09:20"));
  t.equal(failed.lastError, "platform down");
  t.equal(await service.getUploadCountForSlot(morning, monday("10:00")), 0, "the failed upload gave its place back");

  t.equal(await service.retryFailedVideos("30 minutes", 3, monday("09:49")), 0);
  t.equal(await service.retryFailedVideos("30 minutes", 3, monday("09:50")), 1);
  const preview = await service.previewTick(monday("10:00"));
  t.same(preview.map((p) => [p.slotId, p.room, p.wouldClaim]), [[morning, 1, [oldest]]]);
  const claimed = await service.claimDueVideos({ now: monday("10:00") });
  t.same(claimed.map((v) => v.id), [oldest]);
  t.equal(await service.resetStalePendingVideos("30 minutes", monday("10:31")), 1, "unstarted for 31 minutes: stale");

  const open = await service.getOpenSlots(monday("12:30"));
  t.same(open.map((o) => [o.slotId, o.used, o.maxUploads]), [[afternoon, 0, 1]]);
  const status = await service.getSlotStatus(user, monday("12:30"));
  t.same(status.map((s) => [s.slotName, s.isOpenNow, s.roomToday]), [["morning", false, 1], ["afternoon", true, 1]]);

  const next = await service.findNextVideoToUpload(user, monday("12:30"));
  await service.startUpload(next!.id, monday("12:31"));
  t.equal(await service.failInterruptedUploads("35 minutes", monday("13:07")), 1);
  const retried = await service.retryVideo(next!.id);
  t.equal(retried.status, "initiate");
  t.equal(retried.lastError?.startsWith("upload interrupted"), true);
  t.ok(second);
});

t.test("attempts from Node: start for a worker, finish that attempt, repeat the report harmlessly, refuse a stale one", async (t) => {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const user = await addUser(db);
  const { afternoon } = await designNoteMonday(db, user);
  const [video] = await queueVideos(db, user, 2);
  await service.claimDueVideos({ now: monday("11:58") });
  const started = await service.startUploadAttempt(video!, { worker: "host:42", now: monday("11:59") });
  t.match(started, { status: "uploading", attempts: 1, worker: "host:42" });
  const done = await service.finishUploadAttempt(video!, 1, "timed_out", "upload timed out after 30 minutes", monday("12:10"));
  t.match(done, { status: "failed", lastOutcome: "timed_out", lastError: "upload timed out after 30 minutes" });
  const again = await service.finishUploadAttempt(video!, 1, "timed_out", null, monday("12:11"));
  t.equal(again.status, "failed", "the same report again returns quietly");
  const stale = await service.finishUploadAttempt(video!, 1, "success", null, monday("12:12")).catch((e) => e);
  t.match(stale, { kind: "conflict", code: "UPSUP", message: /ended as timed_out/ });

  await service.retryVideo(video!);
  await service.claimDueVideos({ now: monday("12:00") });
  const late = await service.startUploadAttempt(video!, { startGrace: "1 minute", now: monday("18:01:01") });
  t.match(late, { status: "initiate", lastOutcome: "late", slotId: null }, "after its slot (12:00-17:59:59) and the grace: back in the queue");
  t.equal(await service.getUploadCountForSlot(afternoon, monday("12:00")), 0, "and its place in the afternoon with it");
});

t.test("the schedule from Node: the week as JSON, pause, and the forecast as DateTimes in the owner's zone", async (t) => {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const user = await addUser(db, "America/New_York");
  const week = await service.setSchedule(user, [
    { day: "monday", start_time: "09:00:00", end_time: "11:59:59", max_uploads: 2, slot_name: "morning", min_interval: "30 minutes" },
  ]);
  t.match(week, [{ day: "monday", startTime: "09:00:00", maxUploads: 2, slotName: "morning", minInterval: "00:30:00" }]);
  t.same(await service.getSchedule(user), [
    { user_id: user, day: "monday", start_time: "09:00:00", end_time: "11:59:59", max_uploads: 2, slot_name: "morning", is_active: true, min_interval: "00:30:00" },
  ]);
  const bad = await service.setSchedule(user, [{ day: "monday", start_time: "09:00:00", end_time: "08:00:00" }]).catch((e) => e);
  t.match(bad, { kind: "input", code: "UPTIM", message: /^slot 1 \(monday 09:00:00-08:00:00\)/ });

  const [video] = await queueVideos(db, user, 1);
  const sunday = DateTime.fromISO("2026-11-29T20:00", { zone: "America/New_York" });
  const [forecast] = await service.upcomingUploads({ userId: user, now: sunday });
  t.equal(forecast?.videoId, video);
  t.equal(forecast?.expectedAt?.zoneName, "America/New_York");
  t.equal(forecast?.expectedAt?.toFormat("ccc HH:mm"), "Mon 09:00");
  const [window] = await service.upcomingWindows({ userId: user, horizon: "2 days", now: sunday });
  t.match(window, { slotName: "morning", localDate: "2026-11-30", maxUploads: 2, used: 0, note: null });
  t.equal(window?.closesAt?.toFormat("HH:mm:ss"), "11:59:59");

  const paused = await service.pauseUploads(user, { until: sunday.plus({ days: 7 }), reason: "holiday", now: sunday });
  t.equal(paused.pauseReason, "holiday");
  t.equal(paused.uploadsPausedUntil !== "infinity" && paused.uploadsPausedUntil?.toISODate(), "2026-12-06");
  t.equal((await service.upcomingUploads({ userId: user, now: sunday }))[0]?.expectedAt, null, "paused for the week: not expected");
  t.equal((await service.pauseUploads(user, { now: sunday })).uploadsPausedUntil, "infinity", "until resumed");
  t.equal((await service.getSlotStatus(user, sunday))[0]?.pausedUntil, "infinity");
  t.equal((await service.resumeUploads(user)).uploadsPausedUntil, null);
});

t.test("a user in another zone gets DateTimes in that zone", async (t) => {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const user = await addUser(db, "America/Los_Angeles");
  await addSlot(db, user, { day: "monday", start: "08:00", end: "10:00", max: 1 });
  await queueVideos(db, user, 1);
  const now = DateTime.fromISO("2026-11-30T08:30", { zone: "America/Los_Angeles" });
  const video = await service.findNextVideoToUpload(user, now);
  t.equal(video?.timeZone, "America/Los_Angeles");
  t.equal(video?.claimedAt?.zoneName, "America/Los_Angeles");
  t.equal(video?.claimedAt?.toFormat("yyyy-MM-dd HH:mm"), "2026-11-30 08:30");
  t.equal(video?.createdAt.zoneName, "America/Los_Angeles");
});

t.test("database errors arrive as SchedulerError: bad input, wrong state and lost connection told apart", async (t) => {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const user = await addUser(db);
  const [video] = await queueVideos(db, user, 1);

  const bad = await service.getActiveSlotsForDay(user, "Caturday").catch((e) => e);
  t.type(bad, SchedulerError);
  t.match(bad, { kind: "input", code: "UPDAY", message: /Caturday/, hint: /English weekday/ });
  t.equal(bad.isInputError, true);
  const zone = await service.getCurrentTimeInfo("Mars/Olympus").catch((e) => e);
  t.match(zone, { kind: "input", code: "UPTZN" });
  const state = await service.finishUpload(video!, true).catch((e) => e);
  t.match(state, { kind: "conflict", code: "UPSTS", detail: /lifecycle/, hint: String });

  const nowhere = new UploadSchedulerService(new pg.Pool({ connectionString: "postgres://nobody@127.0.0.1:1/none", connectionTimeoutMillis: 2000 }));
  const lost = await nowhere.getCurrentTimeInfo().catch((e) => e);
  t.type(lost, SchedulerError);
  t.equal(lost.kind, "connection");
  t.equal(lost.isConnectionError, true);
  t.equal(lost.isInputError, false);
});

t.test("a client inside the caller's transaction works too", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await designNoteMonday(db, user);
  await queueVideos(db, user, 1);
  const client = await db.connect();
  await client.query("begin");
  const video = await new UploadSchedulerService(client).findNextVideoToUpload(user, monday("09:00"));
  t.ok(video);
  await client.query("rollback");
  t.same(await db.q("select status from videos"), [{ status: "initiate" }], "rolled back with the caller's transaction");
});
