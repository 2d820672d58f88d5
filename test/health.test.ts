// health() in psql: the last tick (recorded by run_tick itself), videos by state, the oldest
// wait, uploads overdue. The worker's /readyz and /metrics read the same.
import t from "tap";
import { DateTime } from "luxon";
import { UploadSchedulerService } from "../src/index.js";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, queueVideos } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`);

t.test("health: the last tick, the videos by state, the oldest wait and the overdue uploads", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 4 });
  const videos = await queueVideos(db, user, 7, "2026-11-29T00:00:00Z");
  const [before] = await db.q("select * from upload_scheduler.health(p_now => $1)", [AT("08:00")]);
  t.match(before, { last_tick_at: null, last_tick_age: null, waiting: 7, pending: 0, uploading: 0, ticks_last_hour: 0 });

  const [tick] = await db.q("select * from upload_scheduler.run_tick(p_now => $1)", [AT("09:00")]);
  t.equal(tick.claimed.length, 4);
  await db.q("select upload_scheduler.start_upload($1, $2)", [videos[0], AT("09:01")]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [videos[1], AT("09:01")]);
  await db.q("select upload_scheduler.finish_upload($1, false, 'x', $2)", [videos[1], AT("09:02")]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [videos[2], AT("09:01")]);
  await db.q("select upload_scheduler.run_tick(p_now => $1)", [AT("09:30")]);

  const [h] = await db.q(`select *, extract(epoch from last_tick_age) as age_s, extract(epoch from oldest_waiting_age) / 3600 as oldest_h
                          from upload_scheduler.health('35 minutes', 3, $1)`, [AT("09:35")]);
  t.match(h, {
    last_tick_at: new Date(AT("09:30")), last_tick_claimed: 1, ticks_last_hour: 2,
    waiting: 2, pending: 2, uploading: 2, failed_retryable: 1, failed_for_good: 0, overdue_uploads: 0,
  }, "the 09:30 tick claimed the place the failure gave back");
  t.equal(Number(h.age_s), 300, "the last tick was five minutes before p_now");
  t.ok(h.last_tick_duration_ms >= 0, `it took ${h.last_tick_duration_ms} ms`);
  t.equal(Number(h.oldest_h).toFixed(2), ((Date.parse(AT("09:35")) - Date.parse("2026-11-29T00:06:00Z")) / 3_600_000).toFixed(2),
    "the oldest waiting video is the sixth queued");
  const [later] = await db.q("select overdue_uploads, failed_retryable, failed_for_good from upload_scheduler.health('35 minutes', 1, $1)", [AT("09:35")]);
  t.same(later, { overdue_uploads: 0, failed_retryable: 0, failed_for_good: 1 }, "with one attempt allowed, the failure is for good");
  const [overdue] = await db.q("select overdue_uploads from upload_scheduler.health('35 minutes', 3, $1)", [AT("10:00")]);
  t.equal(overdue.overdue_uploads, 2, "two uploads running for 59 minutes: overdue");

  // A day of ticks is kept; older rows go.
  await db.q("select upload_scheduler.run_tick(p_now => $1)", [kolkata("2026-12-01 10:00")]);
  t.same(await db.q("select at from upload_scheduler.ticks order by at"), [{ at: new Date(kolkata("2026-12-01 10:00")) }]);

  const service = new UploadSchedulerService(db.pool);
  const fromNode = await service.health({ now: DateTime.fromISO("2026-12-01T10:01", { zone: "Asia/Kolkata" }) });
  t.match(fromNode, { lastTickAgeMs: 60_000, lastTickClaimed: 0, ticksLastHour: 1 });
  await rejects(t, db.q("select * from upload_scheduler.health('0')"), "UPARG");
  await rejects(t, db.q("select * from upload_scheduler.health('35 minutes', 0)"), "UPARG");
});
