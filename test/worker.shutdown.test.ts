// Stopping and scaling out: SIGTERM mid-upload loses nothing, two workers upload each video once.
import t from "tap";
import { testDatabase } from "./fixtures/db.js";
import { SCRIPTED_MEDIA, mediaLog, openSlotWithVideos, startWorker, statuses, waitFor } from "./fixtures/worker.js";

t.test("SIGTERM mid-upload: in-flight uploads finish within the grace period, the rest end failed, none stays uploading", async (t) => {
  const db = await testDatabase(t);
  const log = mediaLog();
  // Jobs start oldest first: with concurrency 3 these three are in flight, the last two wait.
  await openSlotWithVideos(db, ["slow:700", "hang", "slow:700", "slow:100", "slow:100"]);
  const worker = startWorker(t, db, {
    MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file, UPLOAD_CONCURRENCY: "3", SHUTDOWN_GRACE: "2 seconds",
  });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  await db.q("select graphile_worker.add_job('schedule_uploads')");
  const inFlight = await waitFor("three uploads in flight", async () => {
    const rows = await db.q("select id, title from videos where status = 'uploading' order by created_at");
    return rows.length === 3 && rows;
  });
  t.same(inFlight.map((r) => r.title), ["slow:700", "hang", "slow:700"], "the oldest three are uploading");

  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0, "exits 0");

  const rows = await statuses(db);
  t.same(rows.filter((r) => r.status === "uploading"), [], "no video is left uploading");
  t.same(rows.map((r) => [r.title, r.status]), [
    ["slow:700", "success"],
    ["hang", "failed"],
    ["slow:700", "success"],
    ["slow:100", "pending"],
    ["slow:100", "pending"],
  ], "in-flight uploads finished within the grace period; the ones not started stay claimed for the next worker");
  const hang = rows.find((r) => r.title === "hang");
  t.equal(hang.last_error, "upload aborted: the worker shut down", "the one that outlived the grace period was aborted and failed");
  t.ok(log.entries().some((e) => e.event === "aborted" && e.id === hang.id), "its module saw the abort");

  // The shutdown said what it waited for, then how each upload ended.
  const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id).sort();
  t.match(worker.events("shutdown_waiting"), [{ uploads: 3, shutdown_grace: "2 seconds" }], "what it waits for");
  t.same(worker.events("shutdown_waiting")[0]?.video_ids.sort(), ids(inFlight), "the three uploads running");
  t.match(worker.events("grace_period_over"), [{ video_ids: [hang.id] }], "the one it aborted");
  const ended = worker.events("shutdown_uploads_ended")[0]?.uploads ?? [];
  t.same(
    ended.map((u: { video_id: string; outcome: string }) => [u.video_id, u.outcome]).sort(),
    inFlight.map((r) => [r.id, r.id === hang.id ? "aborted" : "success"]).sort(),
    "how each ended",
  );
  t.same(worker.lines().map((l) => l.event).filter((e) => ["shutting_down", "shutdown_waiting", "shutdown_uploads_ended", "stopped"].includes(e)),
    ["shutting_down", "shutdown_waiting", "shutdown_uploads_ended", "stopped"], "in that order");

  // Nothing is lost: a new worker runs the queued uploads.
  const next = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file });
  await waitFor("the next worker to start", async () => next.events("worker_started").length > 0);
  await waitFor("the queued uploads to finish on the next worker", async () =>
    (await statuses(db)).filter((r) => r.title === "slow:100").every((r) => r.status === "success"));
  next.child.kill("SIGTERM");
  t.equal(await next.exited, 0);
});

t.test("two worker processes against one database upload each video exactly once", async (t) => {
  const db = await testDatabase(t);
  const log = mediaLog();
  const titles = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? "slow:150" : "ok"));
  await openSlotWithVideos(db, titles);
  const env = { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file, UPLOAD_CONCURRENCY: "4" };
  const workers = [startWorker(t, db, env), startWorker(t, db, env)];
  await waitFor("both workers to start", async () => workers.every((w) => w.events("worker_started").length > 0));
  // Ticks from both sides at once.
  await db.q("select graphile_worker.add_job('schedule_uploads') from generate_series(1, 4)");
  const rows = await waitFor("every video to succeed", async () => {
    const r = await statuses(db);
    return r.every((v) => v.status === "success") && r;
  });
  t.equal(rows.length, 30);
  const calls = log.entries().filter((e) => e.event === "call");
  t.equal(calls.length, 30, "30 uploads for 30 videos");
  t.equal(new Set(calls.map((c) => c.id)).size, 30, "each video uploaded once");
  t.equal(new Set(calls.map((c) => c.pid)).size, 2, "both processes uploaded");
  for (const w of workers) w.child.kill("SIGTERM");
  t.same(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
});
