// The worker survives its database going away, on a throw-away cluster of its own: a restart, a
// stop while uploads run, a stop while idle, its connections killed again and again. Each time
// it keeps running, and every video is uploaded, none twice, with counters equal to a recount.
import t from "tap";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { throwawayCluster, type Cluster } from "./fixtures/cluster.js";
import { countersDrift } from "./fixtures/scenario.js";
import { SCRIPTED_MEDIA, mediaLog, openSlotWithVideos, startWorker, statuses, waitFor, type WorkerProcess } from "./fixtures/worker.js";
import type { TestDatabase } from "./fixtures/db.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Short durations; INTERRUPTED_AFTER is longer than UPLOAD_TIMEOUT plus the outages below.
const ENV = {
  MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA,
  UPLOAD_CONCURRENCY: "8",
  UPLOAD_TIMEOUT: "5 seconds",
  INTERRUPTED_AFTER: "9 seconds",
  RETRY_FAILED_AFTER: "1 second",
  STALE_PENDING_AFTER: "6 seconds",
  MAX_ATTEMPTS: "5",
  SHUTDOWN_GRACE: "2 seconds",
};

async function worker(t: any, db: TestDatabase) {
  const log = mediaLog();
  const w = startWorker(t, db, { ...ENV, MEDIA_LOG: log.file });
  const dump = process.env.DUMP_WORKER_LOG;
  if (dump) t.teardown(() => appendFileSync(dump, `=== ${t.name}\n${w.output()}\n--- media\n${existsSync(log.file) ? readFileSync(log.file, "utf8") : "(no uploads)"}`));
  await waitFor("the worker to start", async () => w.events("worker_started").length > 0);
  return { w, log };
}

/** 8 uploads in flight and the rest claimed, as in the issue. */
async function uploadsInFlight(db: TestDatabase, titles: string[]) {
  await openSlotWithVideos(db, titles);
  await db.q("select graphile_worker.add_job('schedule_uploads')");
  await waitFor("8 uploads in flight", async () => (await db.q("select count(*)::int as n from videos where status = 'uploading'"))[0].n === 8);
}

/**
 * Every video ends success, uploaded exactly once (the plug-in's own log), the counters equal a
 * recount, and the worker still runs. Ticks are added meanwhile, as the crontab would, so that a
 * video whose start was cut mid-statement is failed as interrupted and retried.
 */
async function everyVideoUploadedOnce(t: any, db: TestDatabase, w: WorkerProcess, log: ReturnType<typeof mediaLog>) {
  const rows = await waitFor("every video to be uploaded", async () => {
    if (w.child.exitCode !== null) throw new Error(`the worker exited with code ${w.child.exitCode}`);
    const r = await statuses(db).catch(() => []);
    if (r.length && r.every((v) => v.status === "success")) return r;
    await db.q("select graphile_worker.add_job('schedule_uploads')").catch(() => {});
    await sleep(500);
    return false;
  }, 60_000).catch(async (error) => {
    // Should it ever time out: what the videos, the jobs and the worker were doing.
    t.comment(JSON.stringify({
      videos: await statuses(db).catch((e) => String(e)),
      jobs: await db.q("select task_identifier, attempts, locked_by, locked_at, run_at, last_error from graphile_worker.jobs order by id").catch((e) => String(e)),
      worker: w.lines().slice(-40),
    }, null, 1));
    throw error;
  });
  t.equal(w.child.exitCode, null, "the worker is still running");
  const calls = log.entries().filter((e) => e.event === "call");
  const perVideo = new Map<string, number>();
  for (const c of calls) perVideo.set(c.id, (perVideo.get(c.id) ?? 0) + 1);
  const twice = [...perVideo].filter(([, n]) => n > 1).map(([id]) => id);
  t.same(twice, [], "no video was uploaded twice", {
    // What happened to them, should it ever fail.
    diagnostic: twice.map((id) => ({ calls: log.entries().filter((e) => e.id === id), worker: w.lines().filter((l) => l.video_id === id) })),
  });
  t.equal(perVideo.size, rows.length, `all ${rows.length} videos were uploaded`);
  t.same(await countersDrift(db), [], "the counters equal a recount");
  t.same(w.events("unhandled_rejection"), [], "no rejection went unhandled but connection errors");
}

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
