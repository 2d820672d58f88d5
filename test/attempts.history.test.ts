// Every attempt on record, written by the database: which attempt, where, when, by which
// worker, and how it ended. An attempt's outcome can only be written by that attempt.
import t from "tap";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`);

t.test("9. attempt 1's late report cannot land on attempt 2; a repeated report is harmless", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 5 });
  const [video] = await queueVideos(db, user, 1);
  await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("09:00")]);
  const [first] = await db.q("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'host-a:101', $2)", [video, AT("09:00:05")]);
  t.equal(first.attempts, 1, "start_upload returns the attempt number (videos.attempts)");

  // Attempt 1's worker stalls; the sweep calls it interrupted, the retry starts attempt 2.
  t.equal((await db.q("select upload_scheduler.fail_interrupted_uploads('35 minutes', $1) as n", [AT("09:40")]))[0].n, 1);
  t.equal((await db.q("select upload_scheduler.retry_failed_videos('30 minutes', 3, $1) as n", [AT("10:10")]))[0].n, 1);
  await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("10:11")]);
  const [second] = await db.q("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'host-b:202', $2)", [video, AT("10:11:05")]);
  t.equal(second.attempts, 2);

  const before = await snapshot(db);
  await rejects(t, db.q("select upload_scheduler.finish_upload_attempt($1, 1, 'success', null, $2)", [video, AT("10:12")]),
    "UPSUP", /Attempt 1 of video .* is not running: it ended as interrupted/);
  t.equal(await snapshot(db), before, "attempt 1's success did not land on attempt 2");

  const [done] = await db.q("select * from upload_scheduler.finish_upload_attempt($1, 2, 'success', null, $2)", [video, AT("10:13")]);
  t.equal(done.status, "success");
  const after = await snapshot(db);
  const [again] = await db.q("select * from upload_scheduler.finish_upload_attempt($1, 2, 'success', null, $2)", [video, AT("10:14")]);
  t.equal(again.status, "success", "the same outcome again (a lost acknowledgement, retried) returns quietly");
  t.equal(await snapshot(db), after, "and changes nothing");
  await rejects(t, db.q("select upload_scheduler.finish_upload_attempt($1, 2, 'failed', 'x', $2)", [video, AT("10:15")]),
    "UPSUP", /it ended as success/);

  const history = await db.q(
    "select attempt, outcome, worker, started_at is not null as started, finished_at, error from upload_attempts where video_id = $1 order by id", [video]);
  t.match(history, [
    { attempt: 1, outcome: "interrupted", worker: "host-a:101", started: true, finished_at: new Date(AT("09:40")), error: /upload interrupted; outcome unknown/ },
    { attempt: 2, outcome: "success", worker: "host-b:202", started: true, finished_at: new Date(AT("10:13")), error: null },
  ], "the kill -9 interruption stays on record after the retry succeeds");
});

t.test("the history of a video: each outcome, and the psql recipe for 'why did this video fail?'", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 5 });
  const [video] = await queueVideos(db, user, 1);
  const attempt = async (local: string, outcome: string, error: string | null) => {
    await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT(local)]);
    const [v] = await db.q("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'w:1', $2)", [video, AT(local)]);
    await db.q("select upload_scheduler.finish_upload_attempt($1, $2, $3, $4, $5)", [video, v.attempts, outcome, error, AT(local)]);
    await db.q("select upload_scheduler.retry_video($1)", [video]);
  };
  await attempt("09:00", "failed", "platform said 403");
  await attempt("09:10", "timed_out", "upload timed out after 30 minutes");
  await attempt("09:20", "aborted", null);
  await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("09:30")]);
  t.equal((await db.q("select upload_scheduler.reset_stale_pending_videos('30 minutes', $1) as n", [AT("10:01")]))[0].n, 1);

  // The recipe of docs/everyday-tasks.md.
  const why = await db.q(`
    select attempt, outcome, started_at, finished_at - started_at as took, error, worker
    from upload_attempts where video_id = $1 order by id`, [video]);
  t.match(why, [
    { attempt: 1, outcome: "failed", error: "platform said 403" },
    { attempt: 2, outcome: "timed_out", error: "upload timed out after 30 minutes" },
    { attempt: 3, outcome: "aborted", error: "upload aborted" },
    { attempt: 4, outcome: "stale", started_at: null, error: /not started within 00:30:00/ },
  ]);
  const [row] = await db.q("select status, attempts, last_outcome, last_error from videos where id = $1", [video]);
  t.same(row, { status: "initiate", attempts: 3, last_outcome: "stale", last_error: "upload aborted" },
    "the video says how its last attempt ended; last_error is the last failure's");
  t.same(await db.q("select slot_id, local_date::text from upload_attempts where video_id = $1 and attempt = 1", [video]),
    [{ slot_id: slot, local_date: "2026-11-30" }], "each attempt knows its slot and local date");
  t.same(await countersDrift(db), []);
});

t.test("a plain UPDATE cannot start or finish an upload: the functions do, and keep the record", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 5 });
  const [video] = await queueVideos(db, user, 1);
  await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("09:00")]);
  const before = await snapshot(db);
  const refused = await rejects(t, db.q("update videos set status = 'uploading', started_at = $2, attempts = attempts + 1 where id = $1", [video, AT("09:01")]),
    "UPMOV", /A plain UPDATE cannot write status/);
  t.match(refused?.hint, /start_upload/, "the hint names the function to call");
  await rejects(t, db.q("update videos set attempts = -5 where id = $1", [video]), "UPMOV");
  t.equal(await snapshot(db), before, "nothing changed");
  await db.q("select upload_scheduler.start_upload($1, $2)", [video, AT("09:01")]);
  await db.q("select upload_scheduler.finish_upload($1, false, 'by hand', $2)", [video, AT("09:02")]);
  t.match(await db.q("select attempt, outcome, error, started_at from upload_attempts where video_id = $1", [video]),
    [{ attempt: 1, outcome: "failed", error: "by hand", started_at: new Date(AT("09:01")) }]);
  t.same(await countersDrift(db), [], "the ledger agrees with the videos");
});
