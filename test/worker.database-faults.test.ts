// The worker survives its database going away, on a throw-away cluster of its own: a restart, a
// stop while uploads run, a stop while idle. Each time it keeps running, and every video is
// uploaded, none twice, with counters equal to a recount. (worker.database-journal: the worker
// killed or stopped while the database is away, and its connections cut again and again.)
import t from "tap";
import { throwawayCluster, type Cluster } from "./fixtures/cluster.js";
import { everyVideoUploadedOnce, sleep, uploadsInFlight, worker } from "./fixtures/database-faults.js";
import { openSlotWithVideos } from "./fixtures/worker.js";

t.test("the database goes away under a running worker", async (t) => {
  const cluster: Cluster = await throwawayCluster(t);

  t.test("pg_ctl restart -m fast with 8 uploads in flight and 16 more claimed", async (t) => {
    const db = await cluster.database(t);
    const { w, log } = await worker(t, db);
    // The 8 in flight finish 25 ms apart, 1 s in: the restart, then, meets some of their outcomes.
    await uploadsInFlight(db, [...Array.from({ length: 8 }, (_, i) => `slow:${1000 + 25 * i}`), ...Array.from({ length: 16 }, () => "slow:500")]);
    const started = Math.max(...log.entries().filter((e) => e.event === "call").map((e) => e.at));
    await sleep(started + 1000 - Date.now());
    await cluster.restart();
    await everyVideoUploadedOnce(t, db, w, log);
    t.ok(w.events("database_reachable").length > 0, "it waited for the database, and said when it was back");
  });

  t.test("the database stopped for 2.5 s while uploads run: outcomes learnt meanwhile are written when it is back", async (t) => {
    const db = await cluster.database(t);
    const { w, log } = await worker(t, db);
    await uploadsInFlight(db, Array.from({ length: 16 }, () => "slow:600"));
    await cluster.stop();
    const stopped = Date.now();
    await sleep(2500);
    const doneDuringOutage = log.entries().filter((e) => e.event === "done" && e.at >= stopped).map((e) => e.id);
    t.ok(doneDuringOutage.length >= 1, `${doneDuringOutage.length} uploads in flight went on and finished during the outage`);
    await cluster.start();
    const [{ back }] = await db.q("select now() as back");
    await everyVideoUploadedOnce(t, db, w, log);
    const rows = await db.q("select status, finished_at >= $2 as after from videos where id = any($1)", [doneDuringOutage, back]);
    t.same(rows.map((r) => [r.status, r.after]), doneDuringOutage.map(() => ["success", true]), "their outcomes were kept, and written once the database was back");
    const waits = w.events("database_unreachable");
    t.ok(waits.length >= 1, `${waits.length} lines while waiting 2.5 s`);
    t.same(waits.map((l) => l.attempt), waits.map((_, i) => i + 1), "one per attempt, numbered");
    t.ok(waits.every((l, i) => i === 0 || l.retry_in_ms >= waits[i - 1]!.retry_in_ms), "backing off");
  });

  t.test("the database stopped for 2.5 s while the worker is idle", async (t) => {
    const db = await cluster.database(t);
    const { w, log } = await worker(t, db);
    await cluster.stop();
    await sleep(2500);
    await cluster.start();
    await openSlotWithVideos(db, ["ok", "slow:200", "ok"]);
    await db.q("select graphile_worker.add_job('schedule_uploads')");
    await everyVideoUploadedOnce(t, db, w, log);
  });
});
