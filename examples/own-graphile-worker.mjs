// The scheduler inside a Graphile Worker of your own, beside your app's tasks.
//   DATABASE_URL=postgres://… node examples/own-graphile-worker.mjs
// It uploads one "video" (this file) through the built-in local destination (UPLOAD_DIR), then stops.
import { fileURLToPath } from "node:url";
import pg from "pg";
import { run } from "graphile-worker";
import { jsonLogger, prepareDatabase, uploadSchedulerTasks } from "pg-upload-scheduler";

// Once per deploy (or `npm run db:migrate` as the schema's owner).
await prepareDatabase(process.env.DATABASE_URL, process.env.MIGRATE_DATABASE_URL);

const pgPool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// Graphile Worker asks for these: a connection lost while idle is logged, not thrown.
pgPool.on("error", (error) => console.error("idle connection lost:", error.message));
pgPool.on("connect", (client) => client.on("error", (error) => console.error("connection lost:", error.message)));
// The same environment as `npm start` (MEDIA_PROCESS_MODULE, UPLOAD_DIR, DATA_DIR, …); log lines to stderr.
const scheduler = await uploadSchedulerTasks({ pgPool, logger: jsonLogger({}, (line) => process.stderr.write(line + "\n")) });

const runner = await run({
  pgPool,
  concurrency: 5,
  noHandleSignals: true,
  taskList: {
    ...scheduler.taskList,
    send_welcome_email: async ({ to }) => console.log(`welcome email to ${to}`),
  },
  parsedCronItems: [...scheduler.parsedCronItems],
});

// A creator with a slot open all day today (UTC), and one video queued.
const { rows: [user] } = await pgPool.query("insert into users (time_zone) values ('UTC') returning id");
await pgPool.query(
  `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name)
   select $1, day, '00:00', '23:59:59', 1, 'all day' from upload_scheduler.current_time_info('UTC')`,
  [user.id],
);
const { rows: [video] } = await pgPool.query(
  "insert into videos (user_id, title, source_path) values ($1, 'launch trailer', $2) returning id",
  [user.id, fileURLToPath(import.meta.url)],
);

await runner.addJob("send_welcome_email", { to: "creator@example.com" });
await runner.addJob("schedule_uploads", {}); // the crontab runs it every minute; now, for the example
let status;
for (let i = 0; i < 300 && !["success", "failed"].includes(status); i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  ({ rows: [{ status }] } = await pgPool.query("select status from videos where id = $1", [video.id]));
}
console.log(`"launch trailer": ${status}`);

await Promise.all([runner.stop(), scheduler.stop()]);
await pgPool.end();
