// The real worker process against real PostgreSQL: a tick claims, uploads run through the
// MEDIA_PROCESS_MODULE plug-in, outcomes are recorded.
import t from "tap";
import { testDatabase } from "./fixtures/db.js";
import { SCRIPTED_MEDIA, mediaLog, openSlotWithVideos, startWorker, statuses, waitFor } from "./fixtures/worker.js";

t.test("a tick uploads every due video once: successes, a rejection with its message, a timeout", async (t) => {
  const db = await testDatabase(t);
  const log = mediaLog();
  const { videos } = await openSlotWithVideos(db, ["ok", "slow:300", "reject:platform said 403: token expired", "hang", "ok"]);
  const worker = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file, UPLOAD_TIMEOUT: "2 seconds" });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  await db.q("select graphile_worker.add_job('schedule_uploads')");

  const final = await waitFor("every video to finish", async () => {
    const rows = await statuses(db);
    return rows.every((r) => r.status === "success" || r.status === "failed") && rows;
  });
  const byTitle = Object.fromEntries(final.map((r) => [r.title, r]));
  t.equal(byTitle["slow:300"].status, "success");
  t.equal(byTitle["reject:platform said 403: token expired"].status, "failed");
  t.equal(byTitle["reject:platform said 403: token expired"].last_error, "platform said 403: token expired", "the rejection's message is kept");
  t.equal(byTitle["hang"].status, "failed");
  t.equal(byTitle["hang"].last_error, "upload timed out after 2 seconds");
  t.ok(final.every((r) => r.attempts === 1), "each video was attempted once");

  const calls = log.entries().filter((e) => e.event === "call");
  t.equal(calls.length, videos.length, "mediaProccess was called once per video");
  t.same(new Set(calls.map((c) => c.id)).size, videos.length);
  t.ok(calls.every((c) => c.attempt === 1 && c.idempotencyKey === `upload-scheduler:${c.id}`), "attempt and idempotency key are passed");
  t.ok(calls.every((c) => c.userId && c.userId === c.user_id), "the video carries camelCase fields and the row's column names");
  t.ok(log.entries().some((e) => e.event === "aborted" && e.id === byTitle["hang"].id), "the hanging module saw its signal abort");

  const lines = worker.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  t.equal(lines.filter((l) => l.event === "claimed").length, 5, "one log line per claim");
  const failed = lines.find((l) => l.event === "upload_failed" && l.video_id === byTitle["hang"].id);
  t.match(failed, { user_id: String, slot_id: String, attempt: 1, duration_ms: Number, error: "upload timed out after 2 seconds" },
    "one structured line per outcome, with video, user, slot, attempt, duration and error");

  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0, "exits 0 on SIGTERM");
});

t.test("a failed upload is retried by a later tick once its cool-down has passed", async (t) => {
  const db = await testDatabase(t);
  const log = mediaLog();
  const { videos } = await openSlotWithVideos(db, ["reject:flaky"]);
  const worker = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file, RETRY_FAILED_AFTER: "1 second" });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  await db.q("select graphile_worker.add_job('schedule_uploads')");
  await waitFor("the first attempt to fail", async () => (await statuses(db))[0].status === "failed");
  await db.q("update videos set title = 'ok' where id = $1", [videos[0]!.id]);
  await waitFor("the cool-down", async () => (await db.q("select finished_at < now() - interval '1 second' as ok from videos"))[0].ok);
  await db.q("select graphile_worker.add_job('schedule_uploads')");
  const [video] = await waitFor("the retry to succeed", async () => {
    const rows = await statuses(db);
    return rows[0].status === "success" && rows;
  });
  t.equal(video.attempts, 2);
  t.equal(video.last_error, null, "a success clears the error of the failed attempt");
  t.same(log.entries().filter((e) => e.event === "call").map((e) => e.attempt), [1, 2], "the module saw attempt 1, then 2");
  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0);
});
