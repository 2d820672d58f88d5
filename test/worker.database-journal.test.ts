// The worker and a database that is away, on a throw-away cluster of its own: killed (kill -9) or
// stopped (SIGTERM) while the database is away, the next start writes the outcomes it journaled;
// its connections terminated again and again while uploads run. Every video is uploaded, none
// twice, with counters equal to a recount.
import t from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { throwawayCluster, type Cluster } from "./fixtures/cluster.js";
import { ENV, everyVideoUploadedOnce, sleep, uploadsInFlight, worker } from "./fixtures/database-faults.js";
import { mediaLog, openSlotWithVideos, startWorker, statuses, waitFor } from "./fixtures/worker.js";

t.test("the database away while the worker stops, and connections cut", async (t) => {
  const cluster: Cluster = await throwawayCluster(t);

  t.test("the worker killed (kill -9) while the database is away: the next start writes the outcomes it had journaled", async (t) => {
    const db = await cluster.database(t);
    const dataDir = mkdtempSync(path.join(tmpdir(), "upsched-data-"));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const log = mediaLog();
    const first = startWorker(t, db, { ...ENV, MEDIA_LOG: log.file, DATA_DIR: dataDir });
    await waitFor("the worker to start", async () => first.events("worker_started").length > 0);
    await openSlotWithVideos(db, ["slow:300", "slow:300"]);
    await db.q("select graphile_worker.add_job('schedule_uploads')");
    await waitFor("2 uploads in flight", async () => (await db.q("select count(*)::int as n from videos where status = 'uploading'"))[0].n === 2);
    await cluster.stop();
    await waitFor("both uploads to finish", async () => first.events("uploaded").length === 2);
    // The database does not take them: after a second, they are journaled.
    await waitFor("both outcomes to be journaled", async () => first.events("outcome_kept").length === 2);
    first.child.kill("SIGKILL");
    await first.exited;
    await cluster.start();

    const next = startWorker(t, db, { ...ENV, MEDIA_LOG: log.file, DATA_DIR: dataDir });
    await waitFor("the next worker to start", async () => next.events("worker_started").length > 0);
    t.match(next.events("outcomes_replaying")[0], { outcomes: 2 });
    t.same((await statuses(db)).map((r) => r.status), ["success", "success"], "written before the next worker's first tick");
    await everyVideoUploadedOnce(t, db, next, log);
  });

  t.test("SIGTERM while the database is away: the worker exits 0 soon after its grace; the next start writes what it could not", async (t) => {
    const db = await cluster.database(t);
    const dataDir = mkdtempSync(path.join(tmpdir(), "upsched-data-"));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const log = mediaLog();
    const first = startWorker(t, db, { ...ENV, MEDIA_LOG: log.file, DATA_DIR: dataDir, SHUTDOWN_GRACE: "1 second" });
    await waitFor("the worker to start", async () => first.events("worker_started").length > 0);
    await openSlotWithVideos(db, ["slow:300"]);
    await db.q("select graphile_worker.add_job('schedule_uploads')");
    await waitFor("the upload to start", async () => (await db.q("select status from videos"))[0].status === "uploading");
    await cluster.stop();
    await waitFor("the upload to finish", async () => first.events("uploaded").length > 0);
    first.child.kill("SIGTERM");
    t.equal(await first.exited, 0, "exits 0: the database being away does not hold it");
    t.ok(first.events("outcomes_kept_in_journal").length > 0, "said where the outcome is");
    t.same(first.lines().filter((l) => l.level === "error").map((l) => `${l.event}: ${l.msg} ${l.error ?? ""}`), [], "no error line: this is a shutdown, not a fault");
    await cluster.start();

    const next = startWorker(t, db, { ...ENV, MEDIA_LOG: log.file, DATA_DIR: dataDir });
    await waitFor("the next worker to start", async () => next.events("worker_started").length > 0);
    t.same((await statuses(db)).map((r) => r.status), ["success"], "the next start wrote it");
    await everyVideoUploadedOnce(t, db, next, log);
  });

  t.test("the worker's connections terminated again and again while uploads run", async (t) => {
    const db = await cluster.database(t);
    const { w, log } = await worker(t, db);
    await uploadsInFlight(db, Array.from({ length: 24 }, () => "slow:500"));
    const name = new URL(db.url).pathname.slice(1);
    let killed = 0;
    for (const until = Date.now() + 3000; Date.now() < until; ) {
      killed += await cluster.terminateOthers(name);
      await sleep(20);
    }
    t.ok(killed >= 20, `${killed} connections terminated`);
    await everyVideoUploadedOnce(t, db, w, log);
  });
});
