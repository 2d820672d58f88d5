// Queue control: a video moved to the head of its user's queue (created_at kept), a not-before
// time, a waiting video withdrawn with its reason on record. The claim, the preview and the
// forecast all follow them.
import t from "tap";
import { UploadSchedulerService } from "../src/service.js";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, queueVideos, snapshot } from "./fixtures/scenario.js";

const MONDAY_9 = kolkata("2026-11-30 09:00");

t.test("move_to_front: the user's next claim takes it, its created_at kept; moved later, another goes before it", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 10 });
  const [a, b, c] = await queueVideos(db, user, 3);
  const [before] = await db.q("select created_at from videos where id = $1", [c]);
  const moved = (await db.q("select * from upload_scheduler.move_to_front($1)", [c]))[0];
  t.equal(moved.status, "initiate");
  t.same(moved.created_at, before.created_at, "created_at is not rewritten");

  const service = new UploadSchedulerService(db.pool);
  const forecast = await service.upcomingUploads({ userId: user, now: MONDAY_9 });
  t.same(forecast.map((f) => f.videoId), [c, a, b], "the forecast shows it first");
  const [preview] = await db.q("select would_claim from upload_scheduler.preview_tick($1)", [MONDAY_9]);
  t.same(preview.would_claim, [c, a, b], "so does the preview");

  t.equal((await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, MONDAY_9]))[0].id, c, "the next claim takes it");
  await db.q("select upload_scheduler.move_to_front($1)", [b]);
  t.equal((await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, kolkata("2026-11-30 09:01")]))[0].id, b,
    "moved later, b goes before a");
  const claimed = await db.q("select id from upload_scheduler.claim_due_videos($1)", [kolkata("2026-11-30 09:02")]);
  t.same(claimed.map((r: any) => r.id), [a], "then the oldest");

  await rejects(t, db.q("select upload_scheduler.move_to_front($1)", [a]), "UPSTS", /is 'pending', not 'initiate': move_to_front cannot act on it/);
  await rejects(t, db.q("select upload_scheduler.move_to_front('00000000-0000-4000-8000-000000000000')"), "UPNVD");
});

t.test("move_to_front stays inside the open slot's quota", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 1 });
  const [a, b] = await queueVideos(db, user, 2);
  await db.q("select upload_scheduler.find_next_video_to_upload($1, $2)", [user, MONDAY_9]);
  await db.q("select upload_scheduler.move_to_front($1)", [b]);
  t.same(await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, kolkata("2026-11-30 10:00")]), [],
    "the slot's one upload today is taken: nothing more is claimed");
  t.equal((await db.q("select status from videos where id = $1", [a]))[0].status, "pending");
});

t.test("a not-before time: the claim, the preview and the forecast wait for it", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 10 });
  const [a, b] = await queueVideos(db, user, 2);
  await db.q("update videos set not_before = $2 where id = $1", [a, kolkata("2026-11-30 12:00")]);
  const [preview] = await db.q("select would_claim from upload_scheduler.preview_tick($1)", [MONDAY_9]);
  t.same(preview.would_claim, [b], "the preview leaves it out before its time");
  const forecast = await new UploadSchedulerService(db.pool).upcomingUploads({ userId: user, now: MONDAY_9 });
  t.same(forecast.map((f) => f.videoId), [b, a], "the forecast puts it after");
  t.ok(forecast[1]!.expectedAt! >= (await db.q("select $1::timestamptz as x", [kolkata("2026-11-30 12:00")]))[0].x, "not before its time");
  t.same((await db.q("select id from upload_scheduler.claim_due_videos($1)", [MONDAY_9])).map((r: any) => r.id), [b]);
  t.same((await db.q("select id from upload_scheduler.claim_due_videos($1)", [kolkata("2026-11-30 12:00")])).map((r: any) => r.id), [a], "claimed at its time");
});

t.test("a not-before time: when every waiting video has one, the tick looks at the user again at the earliest, not before", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 10 });
  const [a, b] = await queueVideos(db, user, 2);
  await db.q("update videos set not_before = $2 where id = $1", [a, kolkata("2026-11-30 12:00")]);
  await db.q("update videos set not_before = $2 where id = $1", [b, kolkata("2026-11-30 11:00")]);
  const dueAt = async () => (await db.q("select due_at from upload_scheduler.user_due where user_id = $1", [user]))[0].due_at.toISOString();
  t.same(await db.q("select id from upload_scheduler.claim_due_videos($1)", [MONDAY_9]), [], "nothing to claim at 09:00");
  t.equal(await dueAt(), new Date(kolkata("2026-11-30 11:00")).toISOString(), "due at the earliest not-before of the queue");
  await db.q("update videos set not_before = null where id = $1", [b]);
  t.same((await db.q("select id from upload_scheduler.claim_due_videos($1)", [kolkata("2026-11-30 09:01")])).map((r: any) => r.id), [b],
    "a video whose not-before is lifted is claimed at the next tick");
  t.equal(await dueAt(), new Date(kolkata("2026-11-30 12:00")).toISOString(), "then due at the one left's not-before");
  const [c] = await queueVideos(db, user, 1, "2026-11-02T00:00:00Z");
  t.same((await db.q("select id from upload_scheduler.claim_due_videos($1)", [kolkata("2026-11-30 09:02")])).map((r: any) => r.id), [c],
    "a video without one, queued behind it, is claimed at once");
});

t.test("withdraw_video: a waiting video is cancelled with its reason on record, never retried by the sweep, and retry_video brings it back", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 10 });
  const [a, b, c] = await queueVideos(db, user, 3);
  const [w] = await db.q("select * from upload_scheduler.withdraw_video($1, 'the client pulled the ad')", [a]);
  t.match(w, { status: "failed", last_outcome: "withdrawn", last_error: "withdrawn: the client pulled the ad" });
  t.same((await db.q("select id from upload_scheduler.claim_due_videos($1)", [MONDAY_9])).map((r: any) => r.id).sort(), [b, c].sort(),
    "the claim passes it by");
  t.equal((await db.q("select upload_scheduler.retry_failed_videos('1 second', 3, $1) as n", [kolkata("2026-12-30 09:00")]))[0].n, 0,
    "the sweep never retries it");
  const [health] = await db.q("select failed_retryable, failed_for_good from upload_scheduler.health('35 minutes', 3, $1)", [MONDAY_9]);
  t.same(health, { failed_retryable: 0, failed_for_good: 0 }, "health() counts it as neither retryable nor failed for good");

  const unchanged = await snapshot(db);
  await rejects(t, db.q("select upload_scheduler.withdraw_video($1)", [a]), "UPSTS");
  await rejects(t, db.q("select upload_scheduler.withdraw_video($1)", [b]), "UPSTS", /is pending: it is claimed, and cannot be withdrawn now/);
  await rejects(t, db.q("select upload_scheduler.withdraw_video('00000000-0000-4000-8000-000000000000')"), "UPNVD");
  t.equal(await snapshot(db), unchanged, "a refused withdrawal changes nothing");

  t.equal((await db.q("select status from upload_scheduler.retry_video($1)", [a]))[0].status, "initiate", "retry_video puts it back in the queue");
  const [plain] = await db.q("select last_error from upload_scheduler.withdraw_video($1)", [a]);
  t.equal(plain.last_error, "withdrawn", "without a reason, the record says withdrawn");
});

t.test("move_to_position: a video given a place in its user's queue; the others keep their order, created_at untouched", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 10 });
  const [a, b, c, d, e] = await queueVideos(db, user, 5);
  const service = new UploadSchedulerService(db.pool);
  const order = async () => (await service.upcomingUploads({ userId: user, now: MONDAY_9 })).map((f) => f.videoId);
  const created = async () => (await db.q("select id, created_at from videos order by id")).map((r: any) => `${r.id} ${r.created_at.toISOString()}`);
  const createdBefore = await created();

  await db.q("select upload_scheduler.move_to_position($1, 2)", [e]);
  t.same(await order(), [a, e, b, c, d], "e second, the rest in order (the forecast shows it)");
  await service.moveToPosition(a!, 4);
  t.same(await order(), [e, b, c, a, d], "a fourth");
  await db.q("select upload_scheduler.move_to_position($1, 99)", [e]);
  t.same(await order(), [b, c, a, d, e], "past the end: the end");
  await db.q("select upload_scheduler.move_to_position($1, 1)", [d]);
  t.same(await order(), [d, b, c, a, e], "1: the head, like move_to_front");
  await db.q("select upload_scheduler.move_to_position($1, 3)", [d]);
  t.same(await order(), [b, c, d, a, e], "and back down to third");
  t.same(await created(), createdBefore, "no created_at was rewritten");
  const [preview] = await db.q("select would_claim from upload_scheduler.preview_tick($1)", [MONDAY_9]);
  t.same(preview.would_claim, [b, c, d, a, e], "the preview follows");
  const claimed = await db.q("select id from upload_scheduler.claim_due_videos($1, 3)", [MONDAY_9]);
  t.same(claimed.map((r: any) => r.id).sort(), [b, c, d].sort(), "and the claim takes the first three");

  const before = await snapshot(db);
  await rejects(t, db.q("select upload_scheduler.move_to_position($1, 0)", [a]), "UPARG", /p_position 0 is not a position/);
  await rejects(t, db.q("select upload_scheduler.move_to_position($1, null)", [a]), "UPARG");
  await rejects(t, db.q("select upload_scheduler.move_to_position($1, 1)", [b]), "UPSTS", /move_to_position cannot act on it/);
  await rejects(t, db.q("select upload_scheduler.move_to_position('00000000-0000-4000-8000-000000000000', 1)"), "UPNVD");
  t.equal(await snapshot(db), before, "a refused move changes nothing");
});
