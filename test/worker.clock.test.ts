// A worker whose clock is off does not run the crontab (it would stamp the crontab's runs in its
// own future and hold back every other worker's ticks), says so, and keeps uploading; a worker
// whose clock is right mends what a fast clock stamped. The skew is real: the worker runs under
// libfaketime (Debian's faketime package; .ci/run installs it), ten minutes ahead.
import t from "tap";
import { existsSync } from "node:fs";
import { testDatabase } from "./fixtures/db.js";
import { SCRIPTED_MEDIA, mediaLog, openSlotWithVideos, startWorker, waitFor } from "./fixtures/worker.js";

const FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const available = existsSync(FAKETIME);
/**
 * Ten minutes ahead, its clock started 15 s before a minute boundary, so that its crontab would
 * fire (stamping that minute, ten minutes in the database's future) 15 s after it starts.
 */
function tenMinutesAhead() {
  const fake = new Date(Math.ceil((Date.now() + 600_000) / 60_000) * 60_000 - 15_000);
  const text = fake.toISOString().replace("T", " ").slice(0, 19);
  return { env: { LD_PRELOAD: FAKETIME, FAKETIME: `@${text}`, FAKETIME_DONT_FAKE_MONOTONIC: "1", TZ: "UTC" }, boundaryAt: Date.now() + 15_000 };
}

t.test("a worker ten minutes ahead: no crontab from it, said in its log, /readyz and health(); it uploads all the same", { skip: !available && "libfaketime is not installed (apt-get install faketime)" }, async (t) => {
  const db = await testDatabase(t);
  const log = mediaLog();
  const ahead = tenMinutesAhead();
  const w = startWorker(t, db, { ...ahead.env, MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file });
  await waitFor("the worker to start", async () => w.events("worker_started").length > 0);
  const [skewed] = w.events("clock_skewed");
  t.ok(skewed && skewed.clock_skew_ms > 570_000 && skewed.clock_skew_ms < 660_000, `it measured its clock ${Math.round((skewed?.clock_skew_ms ?? 0) / 1000)} s ahead`);
  t.match(skewed.msg, /clock is \d+ s ahead of the database's .*it does not run the crontab/);
  // Past the minute boundary of its clock (when a crontab of its own would have fired), with 5 s to spare.
  await waitFor("its clock to pass a minute boundary", async () => Date.now() > ahead.boundaryAt + 5000, 60_000);
  t.same(await db.q("select count(*)::int as n from graphile_worker._private_known_crontabs where last_execution > now() + interval '30 seconds'"), [{ n: 0 }],
    "it stamped no crontab run in its future");
  t.same(await db.q("select count(*)::int as n from graphile_worker.jobs where task_identifier = 'schedule_uploads' and run_at > now() + interval '30 seconds'"), [{ n: 0 }],
    "nor queued a tick there");
  const [row] = await db.q("select runs_crontab, note, clock_skew_ms from upload_scheduler.workers where pid = $1", [w.child.pid]);
  t.match(row, { runs_crontab: false, note: /does not run the crontab/ }, "upload_scheduler.workers says so");
  const [health] = await db.q("select workers_skewed from upload_scheduler.health()");
  t.equal(health.workers_skewed, 1, "health() counts it");

  const { videos } = await openSlotWithVideos(db, ["ok"]);
  await waitFor("its upload", async () => {
    const [v] = await db.q("select status from videos where id = $1", [videos[0]!.id]);
    if (v.status === "success") return true;
    await db.q("select graphile_worker.add_job('schedule_uploads')");
    await new Promise((r) => setTimeout(r, 300));
    return false;
  });
  t.pass("it ran the tick it was given and uploaded: leases run on the database's clock");
});

t.test("a worker with a right clock mends a crontab run a fast clock stamped in the future", async (t) => {
  const db = await testDatabase(t);
  // As a worker ten minutes ahead, without this guard, left it: no tick would be scheduled for ten minutes.
  await db.q(
    `insert into graphile_worker._private_known_crontabs (identifier, known_since, last_execution)
     values ('schedule_uploads', now(), now() + interval '10 minutes')
     on conflict (identifier) do update set last_execution = excluded.last_execution`,
  );
  const w = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA });
  await waitFor("the worker to start", async () => w.events("worker_started").length > 0);
  await waitFor("the crontab's last run to be brought back to now", async () =>
    (await db.q("select last_execution <= now() as mended from graphile_worker._private_known_crontabs where identifier = 'schedule_uploads'"))[0]?.mended);
  t.equal(w.events("clock_skewed").length, 0, "its own clock is right");
  const [row] = await db.q("select runs_crontab, note from upload_scheduler.workers where pid = $1", [w.child.pid]);
  t.same(row, { runs_crontab: true, note: null });
});
