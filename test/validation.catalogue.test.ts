// The bad-input catalogue: every way a psql user or an application can get an input wrong,
// tried against a real database. Each is refused and changes nothing; at least 95 % of them
// with the product's own error (SQLSTATE of class UP, a message naming the bad value, a hint).
// The rest are values PostgreSQL itself cannot read (text that is not a uuid or a time, a number
// too big for its column) or refusals it makes before any trigger runs: listed as such below.
import t from "tap";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, queueVideos, snapshot } from "./fixtures/scenario.js";

interface Case {
  /** What is wrong. */
  name: string;
  sql: string;
  /** The SQLSTATE expected. */
  code: string;
  /** Text the message must contain: the bad value (or what is missing). */
  names: string | RegExp;
  /** PostgreSQL refuses it before the scheduler sees it: its own error, no hint. */
  postgres?: boolean;
}

const AT = (local: string) => kolkata(`2026-11-30 ${local}`);
const NOBODY = "00000000-0000-4000-8000-00000000dead";

t.test("the bad-input catalogue", async (t) => {
  const db = await testDatabase(t);
  const u = await addUser(db);
  const other = await addUser(db);
  const morning = await addSlot(db, u, { day: "monday", start: "09:00", end: "11:59:59", max: 2, name: "morning" });
  const afternoon = await addSlot(db, u, { day: "monday", start: "12:00", end: "17:59:59", max: 1, name: "afternoon" });
  await addSlot(db, u, { day: "monday", start: "18:30", end: "19:00", name: "off", active: false });
  const otherSlot = await addSlot(db, other, { day: "monday", start: "09:00", end: "11:59:59", name: "theirs" });
  const [init] = (await queueVideos(db, u, 1)) as [string];
  const [theirs] = (await queueVideos(db, other, 1)) as [string];
  // The cast, inserted as history and moved by the functions: pend and upl are claimed into the
  // morning (now full: 2 of 2), upl started; in the afternoon (1 place), fail was uploaded and
  // failed, then succ uploaded.
  const claimed = async (slotId: string, at: string, created: string) => (await db.q(
    `insert into videos (user_id, status, slot_id, slot_date, claimed_at, created_at)
     values ($1, 'pending', $2, '2026-11-30', $3, $4) returning id`, [u, slotId, AT(at), created]))[0].id as string;
  const pend = await claimed(morning, "09:00", "2026-11-01T00:02:00Z");
  const upl = await claimed(morning, "09:00", "2026-11-01T00:03:00Z");
  await db.q("select upload_scheduler.start_upload($1, $2)", [upl, AT("09:01")]);
  const fail = await claimed(afternoon, "12:00", "2026-11-01T00:05:00Z");
  await db.q("select upload_scheduler.start_upload($1, $2)", [fail, AT("12:01")]);
  await db.q("select upload_scheduler.finish_upload($1, false, 'x', $2)", [fail, AT("12:02")]);
  const succ = await claimed(afternoon, "12:00", "2026-11-01T00:04:00Z");
  await db.q("select upload_scheduler.start_upload($1, $2)", [succ, AT("12:01")]);
  await db.q("select upload_scheduler.finish_upload($1, true, null, $2)", [succ, AT("12:02")]);
  t.same((await db.q("select status from videos where user_id = $1 order by created_at", [u])).map((r) => r.status),
    ["initiate", "pending", "uploading", "success", "failed"], "the cast is in place");

  await db.q("insert into upload_schedule_exceptions (user_id, local_date, max_uploads) values ($1, '2026-12-25', 0)", [u]);
  const exception = (values: string) => `insert into upload_schedule_exceptions (user_id, local_date, slot_id, max_uploads) values (${values})`;
  const week = (json: unknown) => `select upload_scheduler.set_schedule('${u}', '${JSON.stringify(json)}')`;
  const long = (n: number) => "x".repeat(n);
  const insertSlot = (cols: string) => `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name, is_active) values (${cols})`;
  const slot = (over: Partial<Record<"user" | "day" | "start" | "end" | "max" | "name" | "active", string>>) =>
    insertSlot([over.user ?? `'${u}'`, over.day ?? "'tuesday'", over.start ?? "'09:00'", over.end ?? "'10:00'",
      over.max ?? "1", over.name ?? "'ok'", over.active ?? "true"].join(", "));
  const video = (cols: string, values: string) => `insert into videos (user_id, ${cols}) values ('${u}', ${values})`;
  const cases: Case[] = [
    // Slots, inserted.
    { name: "an unknown weekday", sql: slot({ day: "'Funday'" }), code: "UPDAY", names: "'Funday'" },
    { name: "an empty weekday", sql: slot({ day: "''" }), code: "UPDAY", names: "''" },
    { name: "a NULL weekday", sql: slot({ day: "null" }), code: "UPDAY", names: "NULL" },
    { name: "an abbreviated weekday", sql: slot({ day: "'mon'" }), code: "UPDAY", names: "'mon'" },
    { name: "a weekday in French", sql: slot({ day: "'lundi'" }), code: "UPDAY", names: "'lundi'" },
    { name: "a 51-character weekday", sql: slot({ day: `'${long(51)}'` }), code: "UPDAY", names: long(51) },
    { name: "a weekday number", sql: slot({ day: "'1'" }), code: "UPDAY", names: "'1'" },
    { name: "a blank weekday", sql: slot({ day: "'   '" }), code: "UPDAY", names: "'   '" },
    { name: "a NULL start", sql: slot({ start: "null" }), code: "UPTIM", names: "no start_time" },
    { name: "a NULL end", sql: slot({ end: "null" }), code: "UPTIM", names: "no end_time" },
    { name: "an end equal to the start", sql: slot({ start: "'10:00'", end: "'10:00'" }), code: "UPTIM", names: "10:00:00-10:00:00" },
    { name: "an end before the start", sql: slot({ start: "'11:00'", end: "'10:00'" }), code: "UPTIM", names: "11:00:00-10:00:00" },
    { name: "a start with a fraction of a second", sql: slot({ start: "'09:00:00.5'" }), code: "UPTIM", names: "09:00:00.5" },
    { name: "an end with a fraction of a second", sql: slot({ end: "'10:00:00.25'" }), code: "UPTIM", names: "10:00:00.25" },
    { name: "a sub-second slot that can never open", sql: slot({ start: "'09:00:00.2'", end: "'09:00:00.7'" }), code: "UPTIM", names: "09:00:00.2" },
    { name: "a negative quota", sql: slot({ max: "-1" }), code: "UPQTA", names: "-1" },
    { name: "a very negative quota", sql: slot({ max: "-2147483648" }), code: "UPQTA", names: "-2147483648" },
    { name: "a NULL quota", sql: slot({ max: "null" }), code: "UPQTA", names: "NULL" },
    { name: "a 51-character slot name", sql: slot({ name: `'${long(51)}'` }), code: "UPNAM", names: "51 characters" },
    { name: "a 1000-character slot name", sql: slot({ name: `'${long(1000)}'` }), code: "UPNAM", names: "1000 characters" },
    { name: "is_active NULL", sql: slot({ active: "null" }), code: "UPARG", names: "is_active NULL" },
    { name: "a slot without a user", sql: slot({ user: "null" }), code: "UPNUS", names: "user_id is NULL" },
    { name: "a slot for an unknown user", sql: slot({ user: `'${NOBODY}'` }), code: "UPNUS", names: NOBODY },
    { name: "a slot sharing the morning's inclusive end", sql: slot({ day: "'monday'", start: "'11:59:59'", end: "'12:30'" }), code: "UPOVL", names: "'morning'" },
    { name: "a slot inside the morning", sql: slot({ day: "'Monday'", start: "'10:00'", end: "'10:30'" }), code: "UPOVL", names: "'morning'" },
    { name: "a slot around the morning", sql: slot({ day: "'MONDAY'", start: "'08:00'", end: "'12:00'" }), code: "UPOVL", names: "overlaps" },
    { name: "a slot with a NULL id", sql: `insert into upload_schedules (id, user_id, day, start_time, end_time) values (null, '${u}', 'friday', '09:00', '10:00')`, code: "UPARG", names: "id is NULL" },
    { name: "a slot with a NULL created_at", sql: `insert into upload_schedules (user_id, day, start_time, end_time, created_at) values ('${u}', 'friday', '09:00', '10:00', null)`, code: "UPARG", names: "created_at NULL" },
    { name: "a quota too big for an integer", sql: slot({ max: "2147483648" }), code: "22003", names: "out of range", postgres: true },
    { name: "a start time that is not a time", sql: slot({ start: "'25:00'" }), code: "22008", names: "25:00", postgres: true },
    { name: "a user id that is not a uuid", sql: slot({ user: "'abc'" }), code: "22P02", names: "abc", postgres: true },
    // Slots, changed.
    { name: "a weekday changed to nonsense", sql: `update upload_schedules set day = 'xday' where id = '${morning}'`, code: "UPDAY", names: "'xday'" },
    { name: "a start moved after the end", sql: `update upload_schedules set start_time = '13:00' where id = '${morning}'`, code: "UPTIM", names: "13:00:00-11:59:59" },
    { name: "an end moved to NULL", sql: `update upload_schedules set end_time = null where id = '${morning}'`, code: "UPTIM", names: "no end_time" },
    { name: "a quota lowered below zero", sql: `update upload_schedules set max_uploads = -5 where id = '${morning}'`, code: "UPQTA", names: "-5" },
    { name: "a weekday set to NULL", sql: `update upload_schedules set day = null where id = '${morning}'`, code: "UPDAY", names: "NULL" },
    { name: "a quota set to NULL", sql: `update upload_schedules set max_uploads = null where id = '${morning}'`, code: "UPQTA", names: "NULL" },
    { name: "a name grown too long", sql: `update upload_schedules set slot_name = repeat('y', 60) where id = '${morning}'`, code: "UPNAM", names: "60 characters" },
    { name: "is_active set to NULL", sql: `update upload_schedules set is_active = null where id = '${morning}'`, code: "UPARG", names: "is_active NULL" },
    { name: "a slot's id changed", sql: `update upload_schedules set id = gen_random_uuid() where id = '${morning}'`, code: "UPIMM", names: morning },
    { name: "a slot given to another user", sql: `update upload_schedules set user_id = '${other}' where id = '${morning}'`, code: "UPIMM", names: other },
    { name: "a slot's user set to NULL", sql: `update upload_schedules set user_id = null where id = '${morning}'`, code: "UPIMM", names: "NULL" },
    { name: "the morning moved onto the afternoon", sql: `update upload_schedules set end_time = '13:00' where id = '${morning}'`, code: "UPOVL", names: "'afternoon'" },
    { name: "an overlapping inactive slot switched on", sql: `update upload_schedules set is_active = true, start_time = '17:00' where slot_name = 'off'`, code: "UPOVL", names: "'afternoon'" },
    { name: "a slot's created_at set to NULL", sql: `update upload_schedules set created_at = null where id = '${morning}'`, code: "UPARG", names: "created_at NULL" },
    { name: "TRUNCATE of the slots", sql: "truncate upload_schedules", code: "UPTRN", names: "public.upload_schedules" },
    // Users.
    { name: "a time zone that does not exist", sql: "insert into users (time_zone) values ('Mars/Olympus')", code: "UPTZN", names: "'Mars/Olympus'" },
    { name: "a time zone abbreviation", sql: "insert into users (time_zone) values ('IST')", code: "UPTZN", names: "'IST'" },
    { name: "the server's localtime", sql: "insert into users (time_zone) values ('localtime')", code: "UPTZN", names: "'localtime'" },
    { name: "posixrules", sql: "insert into users (time_zone) values ('posixrules')", code: "UPTZN", names: "'posixrules'" },
    { name: "Factory", sql: "insert into users (time_zone) values ('Factory')", code: "UPTZN", names: "'Factory'" },
    { name: "a posix/ copy of a zone", sql: "insert into users (time_zone) values ('posix/Asia/Kolkata')", code: "UPTZN", names: "'posix/Asia/Kolkata'" },
    { name: "a right/ (leap second) copy of a zone", sql: "insert into users (time_zone) values ('right/UTC')", code: "UPTZN", names: "'right/UTC'" },
    { name: "an empty time zone", sql: "insert into users (time_zone) values ('')", code: "UPTZN", names: "''" },
    { name: "a NULL time zone", sql: "insert into users (time_zone) values (null)", code: "UPTZN", names: "NULL" },
    { name: "an offset instead of a zone", sql: "insert into users (time_zone) values ('+05:30')", code: "UPTZN", names: "'+05:30'" },
    { name: "a POSIX zone string", sql: "insert into users (time_zone) values ('UTC+5')", code: "UPTZN", names: "'UTC+5'" },
    { name: "a zone in the wrong case", sql: "insert into users (time_zone) values ('asia/kolkata')", code: "UPTZN", names: "'asia/kolkata'" },
    { name: "a time zone set to NULL", sql: `update users set time_zone = null where id = '${u}'`, code: "UPTZN", names: "NULL" },
    { name: "a time zone changed to nonsense", sql: `update users set time_zone = 'Nowhere/City' where id = '${u}'`, code: "UPTZN", names: "'Nowhere/City'" },
    { name: "a user's id changed", sql: `update users set id = gen_random_uuid() where id = '${u}'`, code: "UPIMM", names: u },
    { name: "a user with a NULL id", sql: "insert into users (id) values (null)", code: "UPARG", names: "id is NULL" },
    { name: "a user's created_at set to NULL", sql: `update users set created_at = null where id = '${u}'`, code: "UPARG", names: "created_at is NULL" },
    { name: "TRUNCATE of the users", sql: "truncate users", code: "0A000", names: "foreign key", postgres: true },
    // Videos, inserted.
    { name: "an unknown status", sql: video("status", "'queued'"), code: "UPROW", names: "'queued'" },
    { name: "a NULL status", sql: video("status", "null"), code: "UPROW", names: "NULL" },
    { name: "an empty status", sql: video("status", "''"), code: "UPROW", names: "''" },
    { name: "a status in capitals", sql: video("status", "'SUCCESS'"), code: "UPROW", names: "'SUCCESS'" },
    { name: "a video without a user", sql: "insert into videos (user_id) values (null)", code: "UPNUS", names: "user_id is NULL" },
    { name: "a video for an unknown user", sql: `insert into videos (user_id) values ('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    { name: "negative attempts", sql: video("attempts", "-5"), code: "UPROW", names: "-5" },
    { name: "NULL attempts", sql: video("attempts", "null"), code: "UPROW", names: "NULL" },
    { name: "uploading without started_at", sql: video("status, claimed_at, attempts", `'uploading', now(), 1`), code: "UPROW", names: "uploading without" },
    { name: "uploading without an attempt", sql: video("status, claimed_at, started_at", `'uploading', now(), now()`), code: "UPROW", names: "uploading without" },
    { name: "pending without claimed_at", sql: video("status", "'pending'"), code: "UPROW", names: "pending without claimed_at" },
    { name: "failed without finished_at", sql: video("status", "'failed'"), code: "UPROW", names: "failed without finished_at" },
    { name: "a slot without its date", sql: video("slot_id", `'${morning}'`), code: "UPROW", names: "only one of slot_id and slot_date" },
    { name: "a date without its slot", sql: video("slot_date", "'2026-11-30'"), code: "UPROW", names: "only one of slot_id and slot_date" },
    { name: "an unknown last_outcome", sql: video("last_outcome", "'meh'"), code: "UPROW", names: "'meh'" },
    { name: "a NULL created_at", sql: video("created_at", "null"), code: "UPROW", names: "no created_at" },
    { name: "an infinite created_at", sql: video("created_at", "'infinity'"), code: "UPROW", names: "outside the years" },
    { name: "a video with a NULL id", sql: `insert into videos (id, user_id) values (null, '${u}')`, code: "UPARG", names: "id is NULL" },
    { name: "an upload counted in another user's slot", sql: video("status, slot_id, slot_date, finished_at", `'success', '${otherSlot}', '2026-11-30', now()`), code: "UPVSL", names: "belongs to user" },
    { name: "an upload counted on the wrong weekday", sql: video("status, slot_id, slot_date, finished_at", `'success', '${morning}', '2026-12-01', now()`), code: "UPVSL", names: "2026-12-01" },
    { name: "an upload counted in a slot that does not exist", sql: video("status, slot_id, slot_date, finished_at", `'success', '${NOBODY}', '2026-11-30', now()`), code: "UPNSL", names: NOBODY },
    { name: "an upload over the slot's quota", sql: video("status, slot_id, slot_date, finished_at", `'success', '${morning}', '2026-11-30', now()`), code: "UPFUL", names: "allows 2 uploads on 2026-11-30" },
    { name: "a video id that is not a uuid", sql: `insert into videos (id, user_id) values ('not-a-uuid', '${u}')`, code: "22P02", names: "not-a-uuid", postgres: true },
    // Videos, changed.
    { name: "initiate straight to success", sql: `update videos set status = 'success' where id = '${init}'`, code: "UPMOV", names: "status = 'success'" },
    { name: "initiate straight to uploading", sql: `update videos set status = 'uploading', started_at = now(), claimed_at = now(), attempts = 1 where id = '${init}'`, code: "UPMOV", names: "status = 'uploading', started_at = now()" },
    { name: "pending straight to success", sql: `update videos set status = 'success' where id = '${pend}'`, code: "UPMOV", names: "status = 'success'" },
    { name: "an upload put back in the queue", sql: `update videos set status = 'initiate' where id = '${succ}'`, code: "UPMOV", names: "status = 'initiate'" },
    { name: "an upload turned into a failure", sql: `update videos set status = 'failed' where id = '${succ}'`, code: "UPMOV", names: "status = 'failed'" },
    { name: "a failure turned into a success", sql: `update videos set status = 'success' where id = '${fail}'`, code: "UPMOV", names: "status = 'success'" },
    { name: "a failure claimed again by hand", sql: `update videos set status = 'pending' where id = '${fail}'`, code: "UPMOV", names: "status = 'pending'" },
    { name: "an upload sent back to pending", sql: `update videos set status = 'pending' where id = '${upl}'`, code: "UPMOV", names: "status = 'pending'" },
    { name: "a success started again", sql: `update videos set status = 'uploading' where id = '${succ}'`, code: "UPMOV", names: "status = 'uploading'" },
    { name: "a status that does not exist", sql: `update videos set status = 'done' where id = '${init}'`, code: "UPMOV", names: "status = 'done'" },
    { name: "a status set to NULL", sql: `update videos set status = null where id = '${init}'`, code: "UPMOV", names: "status = null" },
    { name: "attempts set below zero", sql: `update videos set attempts = -1 where id = '${init}'`, code: "UPMOV", names: "attempts = -1" },
    { name: "attempts raised by hand", sql: `update videos set attempts = attempts + 5 where id = '${fail}'`, code: "UPMOV", names: "attempts = attempts + 5" },
    { name: "attempts set to NULL", sql: `update videos set attempts = null where id = '${init}'`, code: "UPMOV", names: "attempts = null" },
    { name: "a video's id changed with its status", sql: `update videos set id = gen_random_uuid(), status = 'success' where id = '${init}'`, code: "UPMOV", names: init },
    { name: "a video given to another user", sql: `update videos set user_id = '${other}' where id = '${init}'`, code: "UPIMM", names: other },
    { name: "a pending video losing claimed_at", sql: `update videos set claimed_at = null where id = '${pend}'`, code: "UPMOV", names: "claimed_at = null" },
    { name: "an upload losing started_at", sql: `update videos set started_at = null where id = '${upl}'`, code: "UPMOV", names: "started_at = null" },
    { name: "a failure losing finished_at", sql: `update videos set finished_at = null where id = '${fail}'`, code: "UPMOV", names: "finished_at = null" },
    { name: "a claim losing its slot but not its date", sql: `update videos set slot_id = null where id = '${pend}'`, code: "UPMOV", names: "slot_id = null" },
    { name: "a claim moved into another user's slot", sql: `update videos set slot_id = '${otherSlot}' where id = '${pend}'`, code: "UPMOV", names: `slot_id = '${otherSlot}'` },
    { name: "a claim moved to a Tuesday", sql: `update videos set slot_date = '2026-12-01' where id = '${pend}'`, code: "UPMOV", names: "slot_date = '2026-12-01'" },
    { name: "a claim by hand into a full slot", sql: `update videos set status = 'pending', slot_id = '${morning}', slot_date = '2026-11-30', claimed_at = now() where id = '${init}'`, code: "UPMOV", names: `status = 'pending', slot_id = '${morning}'` },
    { name: "an unknown last_outcome set", sql: `update videos set last_outcome = 'whatever' where id = '${init}'`, code: "UPMOV", names: "last_outcome = 'whatever'" },
    { name: "a created_at set to NULL", sql: `update videos set created_at = null where id = '${init}'`, code: "UPROW", names: "no created_at" },
    { name: "a video of another user's counted by hand", sql: `update videos set status = 'pending', slot_id = '${morning}', slot_date = '2026-11-30', claimed_at = now() where id = '${theirs}'`, code: "UPMOV", names: `status = 'pending', slot_id = '${morning}'` },
    { name: "TRUNCATE … CASCADE of the videos", sql: "truncate videos cascade", code: "UPTRN", names: "TRUNCATE of public." },
    { name: "TRUNCATE of the history", sql: "truncate upload_attempts", code: "UPTRN", names: "public.upload_attempts" },
    { name: "TRUNCATE of the videos", sql: "truncate videos", code: "0A000", names: "foreign key", postgres: true },
    // Functions.
    { name: "a misspelt zone asked of the clock", sql: "select * from upload_scheduler.current_time_info('Asia/Kolkatta')", code: "UPTZN", names: "'Asia/Kolkatta'" },
    { name: "a NULL zone asked of the clock", sql: "select * from upload_scheduler.current_time_info(null)", code: "UPTZN", names: "NULL" },
    { name: "a NULL instant asked of the clock", sql: "select * from upload_scheduler.current_time_info('UTC', null)", code: "UPARG", names: "p_now is NULL" },
    { name: "an infinite instant asked of the clock", sql: "select * from upload_scheduler.current_time_info('UTC', 'infinity')", code: "UPARG", names: "p_now is infinity" },
    { name: "an unknown weekday's slots", sql: `select * from upload_scheduler.active_slots_for_day('${u}', 'someday')`, code: "UPDAY", names: "'someday'" },
    { name: "an unknown user's slots", sql: `select * from upload_scheduler.active_slots_for_day('${NOBODY}', 'monday')`, code: "UPNUS", names: NOBODY },
    { name: "a NULL user's slots", sql: "select * from upload_scheduler.active_slots_for_day(null, 'monday')", code: "UPNUS", names: "NULL" },
    { name: "an unknown slot, is it open?", sql: `select upload_scheduler.is_within_time_slot('${NOBODY}')`, code: "UPNSL", names: NOBODY },
    { name: "a NULL slot, is it open?", sql: "select upload_scheduler.is_within_time_slot(null)", code: "UPNSL", names: "NULL" },
    { name: "an unknown slot's count", sql: `select upload_scheduler.upload_count_for_slot('${NOBODY}')`, code: "UPNSL", names: NOBODY },
    { name: "an unknown user's active slot", sql: `select * from upload_scheduler.find_active_slot('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    { name: "a claim for an unknown user", sql: `select * from upload_scheduler.find_next_video_to_upload('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    { name: "a claim for a NULL user", sql: "select * from upload_scheduler.find_next_video_to_upload(null)", code: "UPNUS", names: "NULL" },
    { name: "a negative claim limit", sql: "select * from upload_scheduler.claim_due_videos(now(), -1)", code: "UPARG", names: "-1" },
    { name: "a tick at a NULL instant", sql: "select * from upload_scheduler.claim_due_videos(null)", code: "UPARG", names: "p_now is NULL" },
    { name: "a claim limit too big for an integer", sql: "select * from upload_scheduler.claim_due_videos(now(), 3000000000)", code: "42883", names: "does not exist", postgres: true },
    { name: "a negative stale interval", sql: "select upload_scheduler.reset_stale_pending_videos('-5 minutes')", code: "UPARG", names: "-00:05:00" },
    { name: "a zero stale interval", sql: "select upload_scheduler.reset_stale_pending_videos('0')", code: "UPARG", names: "00:00:00" },
    { name: "a NULL stale interval", sql: "select upload_scheduler.reset_stale_pending_videos(null)", code: "UPARG", names: "NULL" },
    { name: "a stale interval of a thousand years", sql: "select upload_scheduler.reset_stale_pending_videos('1000 years')", code: "UPARG", names: "1000 years" },
    { name: "an interval PostgreSQL cannot hold", sql: "select upload_scheduler.reset_stale_pending_videos('1000000000 years')", code: "22008", names: "out of range", postgres: true },
    { name: "starting a video never claimed", sql: `select upload_scheduler.start_upload('${init}')`, code: "UPSTS", names: "'initiate', not 'pending'" },
    { name: "starting an unknown video", sql: `select upload_scheduler.start_upload('${NOBODY}')`, code: "UPNVD", names: NOBODY },
    { name: "starting a NULL video", sql: "select upload_scheduler.start_upload(null)", code: "UPNVD", names: "NULL" },
    { name: "starting before the claim", sql: `select upload_scheduler.start_upload('${pend}', '${AT("08:59")}')`, code: "UPARG", names: "before video" },
    { name: "starting with a negative grace", sql: `select upload_scheduler.start_upload_attempt('${pend}', '-1 minute', 'w', '${AT("09:05")}')`, code: "UPARG", names: "-00:01:00" },
    { name: "finishing a video never started", sql: `select upload_scheduler.finish_upload('${init}', true)`, code: "UPSTS", names: "'initiate', not 'uploading'" },
    { name: "finishing twice", sql: `select upload_scheduler.finish_upload('${succ}', false)`, code: "UPSTS", names: "'success', not 'uploading'" },
    { name: "finishing with no outcome", sql: `select upload_scheduler.finish_upload('${upl}', null)`, code: "UPARG", names: "p_succeeded is NULL" },
    { name: "finishing an unknown video", sql: `select upload_scheduler.finish_upload('${NOBODY}', true)`, code: "UPNVD", names: NOBODY },
    { name: "finishing before the start", sql: `select upload_scheduler.finish_upload('${upl}', true, null, '${AT("09:00")}')`, code: "UPARG", names: "before attempt 1" },
    { name: "an outcome that does not exist", sql: `select upload_scheduler.finish_upload_attempt('${upl}', 1, 'meh')`, code: "UPARG", names: "'meh'" },
    { name: "the outcome of an attempt that is not running", sql: `select upload_scheduler.finish_upload_attempt('${upl}', 7, 'success')`, code: "UPSUP", names: "Attempt 7" },
    { name: "a retry limit of zero", sql: "select upload_scheduler.retry_failed_videos('30 minutes', 0)", code: "UPARG", names: "p_max_attempts 0" },
    { name: "a negative cool-down", sql: "select upload_scheduler.retry_failed_videos('-1 hour')", code: "UPARG", names: "-01:00:00" },
    { name: "a NULL cool-down", sql: "select upload_scheduler.retry_failed_videos(null)", code: "UPARG", names: "NULL" },
    { name: "a zero interrupted interval", sql: "select upload_scheduler.fail_interrupted_uploads('0')", code: "UPARG", names: "00:00:00" },
    { name: "a negative interrupted interval", sql: "select upload_scheduler.fail_interrupted_uploads('-1 minute')", code: "UPARG", names: "-00:01:00" },
    { name: "retrying a video that has not failed", sql: `select upload_scheduler.retry_video('${init}')`, code: "UPSTS", names: "'initiate', not 'failed'" },
    { name: "retrying an unknown video", sql: `select upload_scheduler.retry_video('${NOBODY}')`, code: "UPNVD", names: NOBODY },
    { name: "the schedule of an unknown user", sql: `select * from upload_scheduler.slot_status('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    { name: "a preview at a NULL instant", sql: "select * from upload_scheduler.preview_tick(null)", code: "UPARG", names: "p_now is NULL" },
    { name: "open slots at infinity", sql: "select * from upload_scheduler.open_slots('infinity')", code: "UPARG", names: "p_now is infinity" },
    { name: "a tick allowing no attempts", sql: "select * from upload_scheduler.run_tick(p_max_attempts => 0)", code: "UPARG", names: "p_max_attempts 0" },
    { name: "a tick with a zero stale interval", sql: "select * from upload_scheduler.run_tick('0')", code: "UPARG", names: "00:00:00" },
    { name: "a tick with a zero interrupted interval", sql: "select * from upload_scheduler.run_tick(p_interrupted_after => '0')", code: "UPARG", names: "00:00:00" },
    { name: "a tick at a NULL instant", sql: "select * from upload_scheduler.run_tick(p_now => null)", code: "UPARG", names: "p_now is NULL" },
    { name: "a tick with a negative limit", sql: "select * from upload_scheduler.run_tick(p_limit => -1)", code: "UPARG", names: "-1" },
    { name: "a NULL instant, is the slot open?", sql: `select upload_scheduler.is_within_time_slot('${morning}', null)`, code: "UPARG", names: "p_now is NULL" },
    { name: "an infinite instant's count", sql: `select upload_scheduler.upload_count_for_slot('${morning}', 'infinity')`, code: "UPARG", names: "p_now is infinity" },
    { name: "the active slot at a NULL instant", sql: `select * from upload_scheduler.find_active_slot('${u}', null)`, code: "UPARG", names: "p_now is NULL" },
    { name: "a claim at minus infinity", sql: `select * from upload_scheduler.find_next_video_to_upload('${u}', '-infinity')`, code: "UPARG", names: "p_now is -infinity" },
    { name: "starting with a NULL grace", sql: `select upload_scheduler.start_upload_attempt('${pend}', null, 'w', '${AT("09:05")}')`, code: "UPARG", names: "p_start_grace NULL" },
    { name: "starting with a grace of two days", sql: `select upload_scheduler.start_upload_attempt('${pend}', '2 days', 'w', '${AT("09:05")}')`, code: "UPARG", names: "2 days" },
    { name: "a NULL outcome", sql: `select upload_scheduler.finish_upload_attempt('${upl}', 1, null)`, code: "UPARG", names: "NULL" },
    { name: "the outcome of attempt NULL", sql: `select upload_scheduler.finish_upload_attempt('${upl}', null, 'success')`, code: "UPARG", names: "p_attempt NULL" },
    { name: "a NULL retry limit", sql: "select upload_scheduler.retry_failed_videos('30 minutes', null)", code: "UPARG", names: "p_max_attempts NULL" },
    { name: "a stale sweep at a NULL instant", sql: "select upload_scheduler.reset_stale_pending_videos('30 minutes', null)", code: "UPARG", names: "p_now is NULL" },
    { name: "a NULL interrupted interval", sql: "select upload_scheduler.fail_interrupted_uploads(null)", code: "UPARG", names: "NULL" },
    { name: "the schedule at a NULL instant", sql: "select * from upload_scheduler.slot_status(null, null)", code: "UPARG", names: "p_now is NULL" },
    // Date exceptions.
    { name: "an exception with a negative quota", sql: exception(`'${u}', '2026-12-26', null, -1`), code: "UPQTA", names: "-1" },
    { name: "an exception with a NULL quota", sql: exception(`'${u}', '2026-12-26', null, null`), code: "UPQTA", names: "NULL" },
    { name: "an exception for another user's slot", sql: exception(`'${u}', '2026-12-26', '${otherSlot}', 0`), code: "UPEXC", names: otherSlot },
    { name: "an exception for a slot that does not exist", sql: exception(`'${u}', '2026-12-26', '${NOBODY}', 0`), code: "UPNSL", names: NOBODY },
    { name: "a second whole-day exception for a date", sql: exception(`'${u}', '2026-12-25', null, 1`), code: "23505", names: "upload_schedule_exceptions_one_per_slot_and_date", postgres: true },
    { name: "an exception without a date", sql: exception(`'${u}', null, null, 0`), code: "UPARG", names: "NULL" },
    { name: "an exception for an infinite date", sql: exception(`'${u}', 'infinity', null, 0`), code: "UPARG", names: "infinity" },
    { name: "an exception for an unknown user", sql: exception(`'${NOBODY}', '2026-12-26', null, 0`), code: "UPNUS", names: NOBODY },
    { name: "an exception given to another user", sql: `update upload_schedule_exceptions set user_id = '${other}'`, code: "UPIMM", names: "cannot change" },
    { name: "TRUNCATE of the exceptions", sql: "truncate upload_schedule_exceptions", code: "UPTRN", names: "public.upload_schedule_exceptions" },
    // Pacing and pause.
    { name: "a negative min_interval", sql: `update upload_schedules set min_interval = '-5 minutes' where id = '${morning}'`, code: "UPPAC", names: "-00:05:00" },
    { name: "a min_interval of two days", sql: `update upload_schedules set min_interval = '2 days' where id = '${morning}'`, code: "UPPAC", names: "2 days" },
    { name: "a pause that ended before it began", sql: `select upload_scheduler.pause_uploads('${u}', '2026-11-29 00:00Z', null, '2026-11-30 00:00Z')`, code: "UPARG", names: "2026-11-29" },
    { name: "a pause until NULL", sql: `select upload_scheduler.pause_uploads('${u}', null)`, code: "UPARG", names: "p_until NULL" },
    { name: "a pause of an unknown user", sql: `select upload_scheduler.pause_uploads('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    { name: "a pause until minus infinity", sql: `update users set uploads_paused_until = '-infinity' where id = '${u}'`, code: "UPARG", names: "-infinity" },
    { name: "a pause reason of 600 characters", sql: `update users set pause_reason = repeat('z', 600) where id = '${u}'`, code: "UPLEN", names: "600 characters" },
    { name: "resuming an unknown user", sql: `select upload_scheduler.resume_uploads('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    // The week as JSON.
    { name: "a week that is not an array", sql: week({ day: "monday" }), code: "UPJSN", names: "object" },
    { name: "a week with a typo in a key", sql: week([{ day: "monday", start_time: "09:00:00", end_time: "10:00:00", max_upload: 2 }]), code: "UPJSN", names: "max_upload" },
    { name: "a week with a negative quota", sql: week([{ day: "monday", start_time: "09:00:00", end_time: "10:00:00", max_uploads: -1 }]), code: "UPQTA", names: "max_uploads -1 is negative" },
    { name: "a week with an unknown weekday", sql: week([{ day: "Caturday", start_time: "09:00:00", end_time: "10:00:00" }]), code: "UPDAY", names: "Caturday" },
    { name: "a week with a time that is not a time", sql: week([{ day: "monday", start_time: "9am", end_time: "10:00:00" }]), code: "UPTIM", names: "9am" },
    { name: "a week whose slots overlap", sql: week([{ day: "monday", start_time: "09:00:00", end_time: "10:00:00" }, { day: "monday", start_time: "10:00:00", end_time: "11:00:00" }]), code: "UPOVL", names: "slot 2 (monday 10:00:00-11:00:00): Slot 10:00:00-11:00:00 on monday overlaps" },
    { name: "a week for another user", sql: week([{ user_id: other, day: "monday", start_time: "09:00:00", end_time: "10:00:00" }]), code: "UPJSN", names: other },
    { name: "a week with a pacing of zero", sql: week([{ day: "monday", start_time: "09:00:00", end_time: "10:00:00", min_interval: "0" }]), code: "UPPAC", names: "min_interval '00:00:00'" },
    { name: "a week whose slot is a string", sql: week(["monday 9-5"]), code: "UPJSN", names: "monday 9-5" },
    { name: "the week of an unknown user", sql: `select upload_scheduler.set_schedule('${NOBODY}', '[]')`, code: "UPNUS", names: NOBODY },
    { name: "the JSON week of an unknown user", sql: `select upload_scheduler.get_schedule('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    // The forecast.
    { name: "a forecast over no time", sql: "select * from upload_scheduler.upcoming_uploads(null, '0')", code: "UPARG", names: "p_horizon '00:00:00'" },
    { name: "a forecast over two years", sql: "select * from upload_scheduler.upcoming_uploads(null, '2 years')", code: "UPARG", names: "2 years" },
    { name: "the forecast of an unknown user", sql: `select * from upload_scheduler.upcoming_uploads('${NOBODY}')`, code: "UPNUS", names: NOBODY },
    { name: "windows at a NULL instant", sql: "select * from upload_scheduler.upcoming_windows(null, '7 days', null)", code: "UPARG", names: "p_now is NULL" },
  ];

  const before = await snapshot(db);
  let product = 0;
  const postgresOwn: string[] = [];
  for (const c of cases) {
    const error: any = await db.q(c.sql).then(() => undefined, (e) => e);
    t.ok(error, `${c.name}: refused`);
    if (!error) continue;
    t.equal(error.code, c.code, `${c.name}: ${c.code} (${error.message})`);
    t.match(error.message, c.names, `${c.name}: the message names it`);
    if (c.postgres) {
      postgresOwn.push(`${c.name} (${error.code})`);
    } else {
      t.ok(error.hint, `${c.name}: a hint (${error.hint})`);
      if (error.code?.startsWith("UP") && error.hint) product++;
    }
    t.equal(await snapshot(db), before, `${c.name}: nothing changed`);
  }
  const share = product / cases.length;
  t.ok(share >= 0.95, `${product} of ${cases.length} (${(share * 100).toFixed(1)} %) answered with the product's error`);
  t.comment(`PostgreSQL's own errors: ${postgresOwn.join("; ")}`);
});
