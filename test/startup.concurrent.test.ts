// Workers starting beside running ones (a rolling restart, a deploy): four starts at once beside
// two workers that tick and upload, ten rounds. Every start succeeds, no tick or upload fails, and
// the server detects no deadlock, also in the rounds that deploy a change (every file of sql/
// applied again, a policy on Graphile Worker's tables made again) while jobs are being added.
//
// Most starts are prepareDatabase() (what npm start runs before its worker, on connections of its
// own) in this process: a real worker process takes about 5 s of this machine's 2 cores to boot,
// so forty would take minutes. One round starts a real process among the four, and it is the one
// that applies that round's deploy (test/startup.locks.test.ts starts one with nothing to apply).
import t from "tap";
import { readFileSync } from "node:fs";
import { listedSqlFiles } from "../src/db/apply.js";
import { prepareDatabase, type SchemaChanges } from "../src/db/migrate.js";
import { throwawayCluster } from "./fixtures/cluster.js";
import { mediaLog, SCRIPTED_MEDIA, startWorker, waitFor, type WorkerProcess } from "./fixtures/worker.js";

const ROUNDS = 10;
const DEPLOY_ROUNDS = new Set([3, 6, 9]);
const REAL_START_ROUNDS = new Set([9]);

t.test("4 workers start at once beside 2 that tick, 10 rounds: every start succeeds, no tick fails, no deadlock", async (t) => {
  // A cluster of its own: its log is the server's word on deadlocks.
  const cluster = await throwawayCluster(t);
  const db = await cluster.database(t);
  const files = listedSqlFiles().map((f) => f.file);

  // Users whose slots are open all day today and tomorrow (UTC), with room for every video.
  await db.q(`
    with u as (insert into users (time_zone) select 'UTC' from generate_series(1, 2) returning id)
    insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
    select u.id, d, '00:00', '23:59:59', 100000 from u,
      unnest(array[to_char(now() at time zone 'UTC', 'FMday'), to_char((now() + interval '1 day') at time zone 'UTC', 'FMday')]) d`);

  const media = mediaLog();
  const env = { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: media.file };
  const workers: WorkerProcess[] = [startWorker(t, db, env), startWorker(t, db, env)];
  for (const w of workers) await started(w);

  // The load: videos keep arriving and ticks keep running (two at a time, so both workers tick),
  // each claiming the new videos and adding their upload jobs, which the workers run.
  let stopped = false;
  let ticks = 0;
  const load = (async () => {
    while (!stopped) {
      await db.q("insert into videos (user_id, title) select id, 'ok' from users");
      const jobs = await db.q("select (graphile_worker.add_job('schedule_uploads')).id from generate_series(1, 2)");
      await waitFor("the ticks to run", async () =>
        (await db.q("select count(*)::int as n from graphile_worker.jobs where id = any($1) and last_error is null", [jobs.map((j) => j.id)]))[0].n === 0);
      ticks += 2;
    }
  })();
  t.teardown(() => void (stopped = true));

  const applied: Array<{ round: number; who: string; changes: SchemaChanges }> = [];
  const realStarts: WorkerProcess[] = [];
  const t0 = Date.now();
  for (let round = 1; round <= ROUNDS; round++) {
    t.comment(`round ${round} at ${Date.now() - t0} ms, ${ticks} ticks`);
    const ticksBefore = ticks;
    if (DEPLOY_ROUNDS.has(round)) {
      // A deploy: the first file of sql/ changed (so every file is applied again: every trigger
      // of videos, users and upload_schedules dropped and created again), and the worker role's
      // policies on Graphile Worker's job tables to be made again, while jobs are being added.
      await db.q("update upload_scheduler_deploy.applied_sql_files set sha256 = $1 where position = 0", [`deploy ${round}`]);
      await db.q("drop policy upload_scheduler_worker_runs_jobs on graphile_worker._private_tasks");
      await db.q("drop policy upload_scheduler_worker_runs_jobs on graphile_worker._private_jobs");
    }
    const starts: Array<Promise<unknown>> = [];
    let inProcess = 4;
    if (REAL_START_ROUNDS.has(round)) {
      const real = startWorker(t, db, env);
      realStarts.push(real);
      inProcess = 3;
      // Its start first (the in-process ones take turns behind it), then the others at once.
      await waitFor("the real start to reach the database", async () => {
        if (real.child.exitCode !== null) throw new Error(`a real start exited ${real.child.exitCode}:\n${real.output()}`);
        return (await db.q("select 1 from pg_stat_activity where application_name = 'upload-scheduler: migrate'")).length > 0 || real.output().includes('"worker started"');
      }, 60_000).catch((e) => { throw new Error(`${e.message}\n${real.output()}`); });
      starts.push(
        // Its database work is done once it logs what it applied; it goes on starting (its
        // worker, the upload thread's bundle) beside the next round, and must have started by the end.
        prepared(real).then((line) => {
          if (line.msg === "schema changes applied") {
            applied.push({ round, who: "process", changes: { migrations: line.migrations, sqlFiles: files.slice(files.indexOf(line.sql_from)), privileges: line.privileges, tries: line.tries } });
          }
        }),
      );
    }
    for (let i = 0; i < inProcess; i++) {
      starts.push(prepareDatabase(db.url, undefined, {
        changed: (changes) => void (changes.sqlFiles.length + changes.migrations.length + changes.privileges > 0 && applied.push({ round, who: `in-process ${i}`, changes })),
      }));
    }
    const outcomes = await Promise.allSettled(starts);
    t.same(outcomes.filter((o) => o.status === "rejected"), [], `round ${round}: every start succeeded`);
    // Ticking went on through the round (and is still going on after it).
    await waitFor(`round ${round}: ticks to go on`, async () => ticks >= ticksBefore + 2);
    const appliedNow = applied.filter((a) => a.round === round);
    if (DEPLOY_ROUNDS.has(round)) {
      t.equal(appliedNow.length, 1, `round ${round}: one start applied the deploy (${appliedNow.map((a) => `${a.who}, ${a.changes.tries} tries`).join("; ")}); the others found it done`);
      t.same(appliedNow[0]?.changes.sqlFiles, files, "every file of sql/");
      t.same((await db.q("select polrelid::regclass::text as rel from pg_policy where polname = 'upload_scheduler_worker_runs_jobs' order by 1")).map((r) => r.rel),
        ["graphile_worker._private_job_queues", "graphile_worker._private_jobs", "graphile_worker._private_known_crontabs", "graphile_worker._private_tasks"],
        "and the worker role's policies are back on every job table");
    } else {
      t.same(appliedNow, [], `round ${round}: nothing to apply`);
    }
  }
  stopped = true;
  await load;
  for (const real of realStarts) {
    await started(real);
    real.child.kill("SIGTERM");
    t.equal(await real.exited, 0, "a real start stops cleanly");
  }

  t.ok(ticks >= ROUNDS * 2, `${ticks} ticks ran during the rounds`);
  t.ok(media.entries().filter((e) => e.event === "done").length > 0, `${media.entries().filter((e) => e.event === "done").length} uploads ran`);
  t.same(await db.q("select task_identifier, last_error from graphile_worker.jobs where last_error is not null"), [], "no tick and no upload failed");
  for (const w of [...workers, ...realStarts]) {
    t.same(w.lines().filter((l) => l.level === "error" || /deadlock|could not/i.test(l.msg ?? "")), [], "no worker logged an error");
  }
  const serverLog = readFileSync(cluster.logFile, "utf8");
  t.same(serverLog.split("\n").filter((l) => /ERROR:\s+deadlock detected/.test(l)), [], "the server detected no deadlock");
  const lockTimeouts = serverLog.split("\n").filter((l) => /canceling statement due to lock timeout/.test(l)).length;
  t.comment(`the deploys waited out a busy table ${lockTimeouts} time(s) (lock_timeout, then tried again)`);
});

/** Resolves when the worker process logs that it started; rejects, with its output, if it exits first. */
function started(worker: WorkerProcess): Promise<void> {
  return Promise.race([
    waitFor("a worker to start", async () => worker.output().includes('"worker started"'), 60_000).then(() => {}),
    worker.exited.then((code) => Promise.reject(new Error(`a worker exited ${code} at start:\n${worker.output()}`))),
  ]);
}

/** The line a worker process logs once its database is prepared (what it applied, or that nothing was). */
async function prepared(worker: WorkerProcess): Promise<any> {
  const line = () => worker.lines().find((l) => l.msg === "schema changes applied" || l.msg === "database is up to date: nothing applied");
  await Promise.race([
    waitFor("a worker to prepare its database", async () => line(), 60_000),
    worker.exited.then((code) => Promise.reject(new Error(`a worker exited ${code} at start:\n${worker.output()}`))),
  ]);
  return line();
}
