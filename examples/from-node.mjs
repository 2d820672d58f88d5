// Using the scheduler from application code: show a creator their slots and what happens next.
//   DATABASE_URL=postgres://… node examples/from-node.mjs
import pg from "pg";
import { DateTime } from "luxon";
import { UploadSchedulerService } from "pg-upload-scheduler";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const scheduler = new UploadSchedulerService(pool);

const { rows: [user] } = await pool.query("insert into users (time_zone) values ('Asia/Kolkata') returning id");
await pool.query(
  `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name)
   values ($1, 'monday', '09:00', '11:59:59', 1, 'morning'), ($1, 'monday', '12:00', '17:59:59', 1, 'afternoon')`,
  [user.id],
);
await pool.query("insert into videos (user_id, title) values ($1, 'launch trailer')", [user.id]);

// "What if it were Monday 09:30 in Kolkata?"
const now = DateTime.fromISO("2026-11-30T09:30", { zone: "Asia/Kolkata" });
const clock = await scheduler.getCurrentTimeInfo("Asia/Kolkata", now);
const slots = await scheduler.getActiveSlotsForDay(user.id, clock.day);
const open = await scheduler.findActiveSlot(user.id, now);
console.log(`${clock.day} ${clock.localTime} in ${clock.timeZone}`);
for (const slot of slots) console.log(`  ${slot.slotName}: ${slot.startTime}-${slot.endTime}, ${slot.maxUploads} upload(s)`);
console.log(`open now: ${open?.slotName ?? "none"}`);

const video = await scheduler.findNextVideoToUpload(user.id, now);
console.log(`claimed "${video?.title}" at ${video?.claimedAt?.toFormat("HH:mm ZZZZ")}; ` +
  `morning slot used ${await scheduler.getUploadCountForSlot(open.id, now)}/${open.maxUploads}`);
await pool.end();
