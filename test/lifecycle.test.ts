// A video's life: claim, start, finish; failures give their place back; stale and
// interrupted work is recovered; failed videos are retried within a limit.
import t, { type Test } from "tap";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`); // a Monday

async function setup(t: Test, max = 2) {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max, name: "day" });
  const videos = await queueVideos(db, user, 6);
  const fn = async (sql: string, ...values: unknown[]) => (await db.q(sql, values))[0];
  const used = async (local: string) =>
    (await fn("select upload_scheduler.upload_count_for_slot($1, $2) as n", slot, AT(local))).n as number;
  return { db, user, slot, videos, fn, used };
}

t.test("success: pending -> uploading -> success, with timestamps from p_now", async (t) => {
  const { db, user, fn, used, videos } = await setup(t);
  const claimed = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:00"));
  t.equal(claimed.id, videos[0]);
  t.same(claimed.claimed_at, new Date(AT("09:00")));
  const started = await fn("select * from upload_scheduler.start_upload($1, $2)", claimed.id, AT("09:01"));
  t.equal(started.status, "uploading");
  t.equal(started.attempts, 1, "starting counts an attempt");
  t.same(started.started_at, new Date(AT("09:01")));
  const done = await fn("select * from upload_scheduler.finish_upload($1, true, null, $2)", claimed.id, AT("09:05"));
  t.equal(done.status, "success");
  t.same(done.finished_at, new Date(AT("09:05")));
  t.equal(await used("10:00"), 1, "a success keeps its place in the slot");
  t.same(await countersDrift(db), []);
});

t.test("a failed upload keeps its error and gives its place back", async (t) => {
  const { db, user, fn, used } = await setup(t, 1);
  const claimed = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:00"));
  t.equal(await used("09:00"), 1);
  t.equal((await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:00")])).length, 0, "full");
  await fn("select upload_scheduler.start_upload($1, $2)", claimed.id, AT("09:00"));
  const failed = await fn("select * from upload_scheduler.finish_upload($1, false, 'quota exceeded on platform', $2)", claimed.id, AT("09:02"));
  t.equal(failed.status, "failed");
  t.equal(failed.last_error, "quota exceeded on platform");
  t.equal(await used("09:03"), 0, "the failed upload no longer counts");
  const next = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:03"));
  t.ok(next, "another video takes the freed place");
  t.same(await countersDrift(db), []);
});

t.test("stale pending videos go back to the queue after 30 minutes", async (t) => {
  const { db, user, fn, used } = await setup(t);
  const claimed = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:00"));
  t.equal((await fn("select upload_scheduler.reset_stale_pending_videos(p_now => $1) as n", AT("09:30"))).n, 0,
    "exactly 30 minutes is not stale yet");
  t.equal((await fn("select upload_scheduler.reset_stale_pending_videos(p_now => $1) as n", AT("09:30:01"))).n, 1);
  const video = await fn("select * from videos where id = $1", claimed.id);
  t.equal(video.status, "initiate");
  t.equal(video.slot_id, null);
  t.equal(await used("09:31"), 0, "its place is given back");
  const again = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:31"));
  t.equal(again.id, claimed.id, "and, still the oldest, it is claimed again");
  t.same(await countersDrift(db), []);
});

t.test("failed videos are retried after a cool-down while attempts remain; then the error stays", async (t) => {
  const { db, user, fn } = await setup(t, 10);
  const attempt = async (local: string) => {
    const v = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT(local));
    await fn("select upload_scheduler.start_upload($1, $2)", v.id, AT(local));
    return fn("select * from upload_scheduler.finish_upload($1, false, $3, $2)", v.id, AT(local), `boom at ${local}`);
  };
  const first = await attempt("09:00");
  const retry = (local: string) => fn("select upload_scheduler.retry_failed_videos(p_now => $1) as n", AT(local));
  t.equal((await retry("09:29:59")).n, 0, "not before the 30-minute cool-down");
  t.equal((await retry("09:30")).n, 1, "retried after it");
  const waiting = await fn("select * from videos where id = $1", first.id);
  t.equal(waiting.status, "initiate");
  t.equal(waiting.last_error, "boom at 09:00", "the last error is kept");
  t.equal((await attempt("09:31")).id, first.id, "the oldest video again");
  await retry("10:10");
  const third = await attempt("10:11");
  t.equal(third.attempts, 3);
  t.equal((await retry("12:00")).n, 0, "after 3 attempts it stays failed");
  const final = await fn("select * from videos where id = $1", first.id);
  t.equal(final.status, "failed");
  t.equal(final.last_error, "boom at 10:11");
  t.equal((await fn("select upload_scheduler.retry_failed_videos('30 minutes', 5, $1) as n", AT("12:00"))).n, 1,
    "a higher limit retries it");
  await attempt("12:01");
  const manual = await fn("select * from upload_scheduler.retry_video($1)", first.id);
  t.equal(manual.status, "initiate", "retry_video puts a failed video back whatever its attempts");
  t.same(await countersDrift(db), []);
});

t.test("an upload whose worker died is failed as interrupted, then retried", async (t) => {
  const { db, user, fn, used } = await setup(t);
  const v = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:00"));
  await fn("select upload_scheduler.start_upload($1, $2)", v.id, AT("09:00"));
  t.equal((await fn("select upload_scheduler.fail_interrupted_uploads('35 minutes', $1) as n", AT("09:35"))).n, 0);
  t.equal((await fn("select upload_scheduler.fail_interrupted_uploads('35 minutes', $1) as n", AT("09:35:01"))).n, 1);
  const failed = await fn("select * from videos where id = $1", v.id);
  t.equal(failed.status, "failed");
  t.match(failed.last_error, /^upload interrupted; outcome unknown/);
  t.equal(await used("09:36"), 0);
  t.same(await countersDrift(db), []);
});

t.test("a psql user can replay a tick: preview, then claim, then the schedule", async (t) => {
  const { db, user, slot, videos } = await setup(t, 2);
  const [preview] = await db.q("select * from upload_scheduler.preview_tick($1)", [AT("10:00")]);
  t.same(preview.would_claim, videos.slice(0, 2), "the preview names the two oldest videos");
  t.equal(preview.room, 2);
  t.equal((await db.q("select count(*)::int as n from videos where status = 'pending'"))[0].n, 0, "the preview changed nothing");
  const claimed = await db.q("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")]);
  t.same(claimed.map((r) => r.id).sort(), [...preview.would_claim].sort(), "the tick claims what the preview said");
  const status = await db.q("select slot_id, is_today, is_open_now, used_today, room_today from upload_scheduler.slot_status($1, $2)", [user, AT("10:00")]);
  t.same(status, [{ slot_id: slot, is_today: true, is_open_now: true, used_today: 2, room_today: 0 }]);
  t.same(await db.q("select * from upload_scheduler.preview_tick($1)", [AT("18:00")]), [], "nothing is open at 18:00");
});

t.test("deleting videos and slots keeps the counters true", async (t) => {
  const { db, user, fn, used, slot } = await setup(t, 3);
  const a = await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:00"));
  await fn("select * from upload_scheduler.find_next_video_to_upload($1, $2)", user, AT("09:00"));
  t.equal(await used("09:00"), 2);
  await db.q("delete from videos where id = $1", [a.id]);
  t.equal(await used("09:00"), 1, "a deleted pending video frees its place");
  await db.q("delete from upload_schedules where id = $1", [slot]);
  t.same(await db.q("select count(*)::int as n from videos where slot_id is not null"), [{ n: 0 }]);
  t.same(await countersDrift(db), []);
});

t.test("interrupting gives back only the places of the uploads it interrupts: one whose outcome committed meanwhile keeps its place", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 2 });
  const [a, b] = await queueVideos(db, user, 2);
  await db.q("select upload_scheduler.claim_due_videos($1)", [kolkata("2026-11-30 09:00")]);
  for (const id of [a, b]) await db.q("select upload_scheduler.start_upload_attempt($1, '5 minutes', 'h:1', $2)", [id, kolkata("2026-11-30 09:01")]);
  await db.q("select upload_scheduler.finish_upload_attempt($1, 1, 'success', null, $2)", [a, kolkata("2026-11-30 09:02")]);
  // As a sweep that read both as uploading before a's outcome committed, and locked them after.
  const [{ n }] = await db.q("select upload_scheduler_private.interrupt(array[$1, $2]::uuid[], $3, 'test') as n", [a, b, kolkata("2026-11-30 10:00")]);
  t.equal(n, 1, "one upload interrupted");
  t.same((await db.q("select status from videos where id = any($1) order by status desc", [[a, b]])).map((r: any) => r.status), ["success", "failed"]);
  t.same(await countersDrift(db), [], "the uploaded video keeps its place; the interrupted one gave its back");
});

t.test("giving claims back (their slot deleted) frees only the places of videos still pending: one started meanwhile keeps its place", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 2 });
  const [a, b] = await queueVideos(db, user, 2);
  await db.q("select upload_scheduler.claim_due_videos($1)", [kolkata("2026-11-30 09:00")]);
  await db.q("select upload_scheduler.start_upload_attempt($1, '5 minutes', 'h:1', $2)", [a, kolkata("2026-11-30 09:01")]);
  // As the slot's delete trigger does when it read both as pending before a's start committed.
  await db.q("select upload_scheduler_private.give_back(array[$1, $2]::uuid[], now())", [a, b]);
  t.same((await db.q("select status from videos where id = any($1) order by status desc", [[a, b]])).map((r: any) => r.status), ["uploading", "initiate"]);
  t.same(await countersDrift(db), [], "the upload keeps its place; the claim given back freed its own");
});
