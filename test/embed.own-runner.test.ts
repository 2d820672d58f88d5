// The scheduler inside a Graphile Worker of the user's own, built as docs/from-node.md's "Inside your
// own Graphile Worker" shows: the app's task and the scheduler's tick and uploads on one runner.
import t from "tap";
import pg from "pg";
import { Logger as GraphileLogger, run } from "graphile-worker";
import { ConfigError, uploadSchedulerTasks } from "../src/index.js";
import { jsonLogger } from "../src/log.js";
import { testDatabase } from "./fixtures/db.js";
import { SCRIPTED_MEDIA, mediaLog, openSlotWithVideos, statuses, waitFor } from "./fixtures/worker.js";

const quiet = new GraphileLogger(() => () => {});

t.test("one runner runs the app's own task, the scheduler's tick from its crontab item, and the uploads", async (t) => {
  const db = await testDatabase(t);
  const { videos } = await openSlotWithVideos(db, ["ok", "slow:200", "reject:rejected by the platform"]);
  const pgPool = new pg.Pool({ connectionString: db.url });
  // As an application would: the test database is dropped (its sessions ended) at teardown.
  pgPool.on("error", () => {});
  pgPool.on("connect", (client) => void client.on("error", () => {}));
  t.teardown(() => pgPool.end());
  const media = mediaLog();
  // The scripted plug-in runs in this process's threads and reads its log file from here.
  process.env.MEDIA_LOG = media.file;
  const lines: any[] = [];
  const scheduler = await uploadSchedulerTasks({
    pgPool,
    env: { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, DATA_DIR: t.testdir({}), MAX_ATTEMPTS: "1", SHUTDOWN_GRACE: "1 second" },
    logger: jsonLogger({}, (line) => lines.push(JSON.parse(line))),
  });
  t.same(Object.keys(scheduler.taskList).sort(), ["schedule_uploads", "upload_video"]);
  t.same(scheduler.parsedCronItems.map((item) => item.task), ["schedule_uploads"], "the crontab's tick");

  const welcomed: unknown[] = [];
  const runner = await run({
    pgPool,
    concurrency: 4,
    noHandleSignals: true,
    pollInterval: 200,
    logger: quiet,
    taskList: { ...scheduler.taskList, send_welcome_email: async (payload) => void welcomed.push(payload) },
    parsedCronItems: [...scheduler.parsedCronItems],
  });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await Promise.all([runner.stop(), scheduler.stop()]);
  });
  const known = await waitFor("the cron to register", async () => {
    const rows = await db.q("select identifier from graphile_worker._private_known_crontabs");
    return rows.length > 0 && rows;
  });
  t.same(known.map((r) => r.identifier), ["schedule_uploads"], "the runner registered the scheduler's crontab item");

  await runner.addJob("send_welcome_email", { to: "ada@example.com" });
  await runner.addJob("schedule_uploads", {});
  const final = await waitFor("every upload to end", async () => {
    const rows = await statuses(db);
    return rows.every((r) => r.status === "success" || r.status === "failed") && rows;
  });
  t.same(final.map((r) => [r.title, r.status]), [["ok", "success"], ["slow:200", "success"], ["reject:rejected by the platform", "failed"]]);
  t.equal(final[2].last_error, "rejected by the platform");
  t.same(new Set(media.entries().filter((e) => e.event === "call").map((e) => e.id)), new Set(videos.map((v) => v.id)), "each video uploaded once");
  t.same(welcomed, [{ to: "ada@example.com" }], "the app's own task ran beside them");
  t.ok(lines.some((l) => l.event === "tick" && l.claimed === 3), "the scheduler logs through the logger given");

  const metrics = await scheduler.metrics.render();
  t.match(metrics, /upload_scheduler_uploads_total\{outcome="success"\} 2/);
  t.match(metrics, /upload_scheduler_videos\{state="failed_for_good"\} 1/, "MAX_ATTEMPTS read from the env given");
  t.equal((await scheduler.service.health({ maxAttempts: 1 })).failedForGood, 1, "the typed client on the same pool");

  // A slow upload still running when the app stops is given SHUTDOWN_GRACE, then aborted and recorded.
  await db.q("insert into videos (user_id, title) select user_id, 'hang' from videos limit 1");
  await runner.addJob("schedule_uploads", {});
  await waitFor("the hanging upload to start", async () => (await db.q("select 1 from videos where title = 'hang' and status = 'uploading'")).length > 0);
  stopped = true;
  await Promise.all([runner.stop(), scheduler.stop()]);
  const [hang] = await db.q("select status, last_error from videos where title = 'hang'");
  t.match(hang, { status: "failed", last_error: /shut/ }, "its outcome was written before stop() resolved");
});

t.test("an upload whose job runs long after its slot closed is given back, and counted as late", async (t) => {
  const db = await testDatabase(t);
  const [{ id: user }] = await db.q("insert into users (time_zone) values ('UTC') returning id");
  await db.q("insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'monday', '09:00', '10:59:59')", [user]);
  await db.q("insert into videos (user_id, title, created_at) values ($1, 'ok', '2026-11-01')", [user]);
  // Claimed in last Monday's slot; its job only runs now.
  const [video] = await db.q("select id from upload_scheduler.claim_due_videos('2026-11-23 10:00Z')");
  const pgPool = new pg.Pool({ connectionString: db.url });
  // As an application would: the test database is dropped (its sessions ended) at teardown.
  pgPool.on("error", () => {});
  pgPool.on("connect", (client) => void client.on("error", () => {}));
  t.teardown(() => pgPool.end());
  const scheduler = await uploadSchedulerTasks({ pgPool, env: { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, DATA_DIR: t.testdir({}) }, logger: jsonLogger({}, () => {}) });
  const runner = await run({ pgPool, concurrency: 1, noHandleSignals: true, pollInterval: 200, logger: quiet, taskList: scheduler.taskList });
  t.teardown(() => Promise.all([runner.stop(), scheduler.stop()]));
  await runner.addJob("upload_video", { video_id: video.id });
  await waitFor("the video to go back to the queue", async () => (await db.q("select status from videos"))[0].status === "initiate");
  t.match(await scheduler.metrics.render(), /upload_scheduler_uploads_total\{outcome="late"\} 1/);
});

t.test("the same configuration checks as npm start", async (t) => {
  const db = await testDatabase(t);
  const pgPool = new pg.Pool({ connectionString: db.url });
  // As an application would: the test database is dropped (its sessions ended) at teardown.
  pgPool.on("error", () => {});
  pgPool.on("connect", (client) => void client.on("error", () => {}));
  t.teardown(() => pgPool.end());
  const error = await uploadSchedulerTasks({
    pgPool,
    env: { MEDIA_PROCESS_MODULE: "./no/such/module.mjs", DATA_DIR: t.testdir({}), UPLOAD_TIMEOUT: "soon" },
  }).catch((e) => e);
  t.type(error, ConfigError);
  t.match(error.message, /UPLOAD_TIMEOUT="soon" is not a PostgreSQL interval/);
});
