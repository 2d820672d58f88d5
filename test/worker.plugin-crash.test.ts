// A crashing plug-in takes only its own upload down: the healthy uploads beside it succeed.
import t from "tap";
import { testDatabase } from "./fixtures/db.js";
import { countersDrift } from "./fixtures/scenario.js";
import { SCRIPTED_MEDIA, mediaLog, openSlotWithVideos, startWorker, statuses, waitFor } from "./fixtures/worker.js";

t.test("process.exit, a throw from a timer and an unhandled rejection beside healthy uploads, in one worker", async (t) => {
  const db = await testDatabase(t);
  const log = mediaLog();
  await openSlotWithVideos(db, ["slow:800", "exit:1", "slow:800", "throw-later:boom", "slow:800", "unhandled:nope", "plain", "reject-object"]);
  const worker = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file, UPLOAD_CONCURRENCY: "8" });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  await db.q("select graphile_worker.add_job('schedule_uploads')");
  const rows = await waitFor("every upload to end", async () => {
    const r = await statuses(db);
    return r.every((v) => v.status === "success" || v.status === "failed") && r;
  });
  t.same(rows.map((r) => [r.title, r.status, r.last_error]), [
    ["slow:800", "success", null],
    ["exit:1", "failed", "mediaProccess ended its thread (process.exit(1)) before the upload finished"],
    ["slow:800", "success", null],
    ["throw-later:boom", "failed", "mediaProccess crashed: uncaught exception: boom"],
    ["slow:800", "success", null],
    ["unhandled:nope", "failed", "mediaProccess crashed: unhandled rejection: nope"],
    ["plain", "success", null],
    ["reject-object", "failed", '{"status":403,"body":"token expired"}'],
  ], "the healthy uploads succeeded; each crash failed its own upload with a clear message");
  t.ok(rows.every((r) => r.attempts === 1), "nothing was interrupted and retried");
  t.equal(worker.child.exitCode, null, "the worker is still running");
  const calls = log.entries().filter((e) => e.event === "call");
  t.equal(calls.length, rows.length, "one call per video");
  t.equal(new Set(calls.map((c) => c.pid)).size, 1, "all in the one worker process");
  t.same(await countersDrift(db), []);
  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0);
});
