// Reconciling by hand (upload_scheduler.reconcile): a person who looked at the platform settles a
// video whose last upload's outcome is in doubt, as a plug-in's reconcile would. Done: uploaded,
// in the slot of the attempt that ran, with the platform's id; not done: back in the queue, and
// the next attempt uploads without reconciling first. Anything not in doubt is refused, unchanged.
import t, { type Test } from "tap";
import { UploadSchedulerService } from "../src/service.js";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`);

/** Two videos claimed at 09:00 and started at 09:01, both interrupted by the sweep at 09:40. */
async function interrupted(t: Test) {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 2 });
  const [a, b] = await queueVideos(db, user, 2);
  await db.q("select upload_scheduler.claim_due_videos($1)", [AT("09:00")]);
  for (const id of [a, b]) await db.q("select upload_scheduler.start_upload_attempt($1, '5 minutes', 'h:1', $2)", [id, AT("09:01")]);
  t.equal((await db.q("select upload_scheduler.fail_interrupted_uploads('35 minutes', $1) as n", [AT("09:40")]))[0].n, 2);
  return { db, user, slot, a: a!, b: b! };
}

t.test("done: the platform has it; the video is uploaded in the slot of the attempt that ran, with the platform's id", async (t) => {
  const { db, user, slot, a } = await interrupted(t);
  const service = new UploadSchedulerService(db.pool);
  const video = await service.reconcileVideo(a, { done: true, remoteId: "yt-123", remoteUrl: "https://youtu.be/yt-123", now: AT("10:00") });
  t.match(video, { status: "success", lastOutcome: "success", lastError: null, remoteId: "yt-123", remoteUrl: "https://youtu.be/yt-123", slotId: slot });
  const [attempt] = await db.q("select outcome, error, result from upload_attempts where video_id = $1 and attempt = 1", [a]);
  t.match(attempt, { outcome: "success", error: null, result: { remoteId: "yt-123", remoteUrl: "https://youtu.be/yt-123", reconciledBy: String } },
    "the attempt that ran is on record as the success, with who reconciled it");
  const [use] = await db.q("select used_today from upload_scheduler.slot_status($1, $2)", [user, AT("10:00")]);
  t.equal(use.used_today, 1, "its place in the slot is taken back: it counts in the day's quota");
  t.same(await countersDrift(db), [], "the ledger equals a recount");
  t.same(await db.q("select id from upload_scheduler.claim_due_videos($1)", [AT("10:01")]), [], "it is not claimed again");
});

t.test("not done: the platform does not have it; back in the queue now, uploaded without reconciling first", async (t) => {
  const { db, b } = await interrupted(t);
  const [video] = await db.q("select * from upload_scheduler.reconcile($1, false, p_now => $2)", [b, AT("10:00")]);
  t.match(video, { status: "initiate", last_outcome: "failed", last_error: /^reconciled by \w+: the platform does not have it \(upload interrupted/ });
  t.notOk(["interrupted", "unknown", "timed_out", "aborted"].includes(video.last_outcome), "its next attempt will not ask the plug-in's reconcile first");
  t.same((await db.q("select id from upload_scheduler.claim_due_videos($1)", [AT("10:01")])).map((r: any) => r.id), [b], "the next tick claims it");
  t.same(await countersDrift(db), []);
});

t.test("nothing in doubt, or a bad answer: a clear error, and nothing changes", async (t) => {
  const { db, user, a } = await interrupted(t);
  const [waiting] = await queueVideos(db, user, 1, "2026-11-02T00:00:00Z");
  await db.q("select upload_scheduler.reconcile($1, true, 'yt-1', null, $2)", [a, AT("10:00")]);
  const before = await snapshot(db);
  await rejects(t, db.q("select upload_scheduler.reconcile($1, true, 'yt-2', null, $2)", [a, AT("10:05")]), "UPSTS",
    /is success \(last outcome success\): no upload of it is in doubt/);
  await rejects(t, db.q("select upload_scheduler.reconcile($1, false, p_now => $2)", [waiting, AT("10:05")]), "UPSTS", /is initiate \(last outcome none\)/);
  await rejects(t, db.q("select upload_scheduler.reconcile($1, null)", [a]), "UPARG", /p_done is NULL/);
  await rejects(t, db.q("select upload_scheduler.reconcile($1, false, 'yt-3')", [a]), "UPARG", /only with p_done|does not have/);
  await rejects(t, db.q("select upload_scheduler.reconcile('00000000-0000-4000-8000-000000000000', true)"), "UPNVD");
  t.equal(await snapshot(db), before, "a refused reconcile changes nothing");
});

t.test("the worker's own success, learnt after the sweep called its attempt interrupted, is recorded the same way", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 1 });
  const [a] = await queueVideos(db, user, 1);
  await db.q("select upload_scheduler.claim_due_videos($1)", [AT("09:00")]);
  const [begun] = await db.q("select (b).attempt, (b).token from upload_scheduler.begin_attempt($1, 'host:1', '1 minute', '5 minutes', $2) b", [a, AT("09:01")]);
  await db.q("select upload_scheduler_private.interrupt(array[$1]::uuid[], $2, 'test')", [a, AT("09:10")]);
  t.same(await countersDrift(db), [], "the interrupted upload gave its place back");
  const [video] = await db.q("select * from upload_scheduler.end_attempt($1, $2, $3, 'success', null, $4, null, $5)",
    [a, begun.attempt, begun.token, { remoteId: "r-1", remoteUrl: "https://example.test/r-1" }, AT("09:11")]);
  t.match(video, { status: "success", slot_id: slot, remote_id: "r-1", remote_url: "https://example.test/r-1", last_outcome: "success" });
  t.same(await db.q("select outcome from upload_attempts where video_id = $1", [a]), [{ outcome: "success" }]);
  const [use] = await db.q("select used_today from upload_scheduler.slot_status($1, $2)", [user, AT("09:12")]);
  t.equal(use.used_today, 1, "it took its place back");
  t.same(await countersDrift(db), []);
});
