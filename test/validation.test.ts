// Every bad input is refused with a SQLSTATE, a message naming the bad value and a hint,
// and changes nothing.
import t from "tap";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, designNoteMonday, queueVideos, snapshot } from "./fixtures/scenario.js";

t.test("bad inputs are refused and change nothing", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const { morning } = await designNoteMonday(db, user);
  const [video, spare] = await queueVideos(db, user, 2);
  const before = await snapshot(db);

  const refused = async (name: string, sql: string, values: unknown[], code: string, message: RegExp) => {
    t.test(name, async (t) => {
      await rejects(t, db.pool.query(sql, values), code, message);
      t.equal(await snapshot(db), before, "nothing changed");
    });
  };

  await refused("a weekday that does not exist",
    "insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'Funday', '19:00', '20:00')",
    [user], "UPDAY", /Unknown weekday 'Funday'/);
  await refused("a weekday renamed to one that does not exist",
    "update upload_schedules set day = 'mon' where id = $1", [morning], "UPDAY", /'mon'/);
  await refused("an end before the start",
    "insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'tuesday', '10:00', '09:00')",
    [user], "UPTIM", /10:00:00-09:00:00 on tuesday ends before it starts/);
  await refused("an end equal to the start",
    "insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'tuesday', '10:00', '10:00')",
    [user], "UPTIM", /ends before it starts/);
  await refused("an end at 24:00, the next day's midnight",
    "insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'tuesday', '23:00', '24:00')",
    [user], "UPTIM", /23:00:00-24:00:00 on tuesday ends at 24:00:00, the next day's midnight/);
  await refused("a negative quota",
    "update upload_schedules set max_uploads = -1 where id = $1", [morning], "UPQTA", /max_uploads -1 is negative/);
  await refused("an unknown time zone",
    "insert into users (time_zone) values ('Mars/Olympus')", [], "UPTZN", /Unknown time zone 'Mars\/Olympus'/);
  await refused("a time zone abbreviation rather than an IANA name",
    "update users set time_zone = 'IST' where id = $1", [user], "UPTZN", /'IST'/);
  await refused("an unknown time zone asked of the clock",
    "select * from upload_scheduler.current_time_info('Asia/Kolkatta')", [], "UPTZN", /'Asia\/Kolkatta'/);
  await refused("an overlapping slot (sharing the inclusive end 11:59:59)",
    "insert into upload_schedules (user_id, day, start_time, end_time, slot_name) values ($1, 'MONDAY', '11:59:59', '12:30', 'late')",
    [user], "UPOVL", /overlaps slot 'morning'/);
  await refused("an existing slot moved onto another",
    "update upload_schedules set start_time = '08:00', end_time = '13:00' where id = $1", [morning], "UPOVL", /overlaps slot 'afternoon'/);
  await refused("an inactive slot switched on over an active one",
    "insert into upload_schedules (user_id, day, start_time, end_time, is_active) values ($1, 'monday', '10:00', '10:30', true)",
    [user], "UPOVL", /overlaps/);
  await refused("an unknown status, by plain UPDATE",
    "update videos set status = 'done' where id = $1", [video], "UPMOV", /A plain UPDATE cannot write status/);
  await refused("a status change by plain UPDATE: the functions move videos",
    "update videos set status = 'success' where id = $1", [video], "UPMOV", /A plain UPDATE cannot write status/);
  await refused("a change in a batch, even when the other rows would be legal",
    "update videos set status = case when id = $1 then 'pending' else 'uploading' end", [video], "UPMOV", /cannot write status/);
  await refused("a new video with an unknown status",
    "insert into videos (user_id, status) values ($1, 'queued')", [user], "UPROW", /Unknown video status 'queued'/);
  await refused("starting a video that was never claimed",
    "select upload_scheduler.start_upload($1)", [video], "UPSTS", /is 'initiate', not 'pending'/);
  await refused("finishing a video that never started",
    "select upload_scheduler.finish_upload($1, true)", [video], "UPSTS", /not 'uploading'/);
  await refused("retrying a video that has not failed",
    "select upload_scheduler.retry_video($1)", [spare], "UPSTS", /not 'failed'/);
  await refused("a video that does not exist",
    "select upload_scheduler.start_upload('00000000-0000-0000-0000-000000000000')", [], "UPNVD", /No video with id/);
  await refused("a slot that does not exist",
    "select upload_scheduler.upload_count_for_slot('00000000-0000-0000-0000-000000000000')", [], "UPNSL", /No slot/);
  await refused("a user that does not exist",
    "select * from upload_scheduler.find_next_video_to_upload('00000000-0000-0000-0000-000000000000')", [], "UPNUS", /No user/);
  await refused("a weekday that does not exist, asked of active_slots_for_day",
    "select * from upload_scheduler.active_slots_for_day($1, 'someday')", [user], "UPDAY", /'someday'/);
  await refused("a negative claim limit",
    "select * from upload_scheduler.claim_due_videos(now(), -1)", [], "UPARG", /p_limit -1/);
  await refused("a negative stale interval",
    "select upload_scheduler.reset_stale_pending_videos('-5 minutes')", [], "UPARG", /p_older_than/);
  await refused("a retry limit below one",
    "select upload_scheduler.retry_failed_videos('30 minutes', 0)", [], "UPARG", /p_max_attempts 0/);
});

t.test("finishing an upload twice is refused; the first outcome stands", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await designNoteMonday(db, user);
  await queueVideos(db, user, 1);
  const [video] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, kolkata("2026-11-30 09:00")]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [video.id, kolkata("2026-11-30 09:01")]);
  await db.q("select upload_scheduler.finish_upload($1, true, null, $2)", [video.id, kolkata("2026-11-30 09:05")]);
  const before = await snapshot(db);
  await rejects(t, db.pool.query("select upload_scheduler.finish_upload($1, false, 'late')", [video.id]), "UPSTS", /'success', not 'uploading'/);
  t.equal(await snapshot(db), before, "nothing changed");
});

t.test("weekdays are accepted in any case and stored lowercase; adjacent slots are fine", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "  WeDnEsDaY", start: "09:00:00", end: "11:59:59" });
  await addSlot(db, user, { day: "wednesday", start: "12:00:00", end: "13:00:00" });
  await addSlot(db, user, { day: "wednesday", start: "12:30:00", end: "12:45:00", active: false });
  const rows = await db.q("select day, start_time from upload_scheduler.active_slots_for_day($1, 'Wednesday')", [user]);
  t.same(rows, [{ day: "wednesday", start_time: "09:00:00" }, { day: "wednesday", start_time: "12:00:00" }],
    "two active slots, lowercase, by start_time; the inactive overlapping one is allowed and not listed");
});
