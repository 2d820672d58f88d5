// The week as JSON: the design note's format in, the same format out, all or nothing.
import t from "tap";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`); // a Monday

/** The design note's "Configuration Example", with a real user id. */
const designNote = (user: string) => [
  { user_id: user, day: "monday", start_time: "09:00:00", end_time: "11:59:59", max_uploads: 1, slot_name: "morning", is_active: true },
  { user_id: user, day: "monday", start_time: "12:00:00", end_time: "17:59:59", max_uploads: 1, slot_name: "afternoon", is_active: true },
];

t.test("the design note's sample loads as written, reads back the same, and a round trip changes nothing", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const week = await db.q("select day, start_time, end_time, max_uploads, slot_name, is_active from upload_scheduler.set_schedule($1, $2)",
    [user, JSON.stringify(designNote(user))]);
  t.same(week, [
    { day: "monday", start_time: "09:00:00", end_time: "11:59:59", max_uploads: 1, slot_name: "morning", is_active: true },
    { day: "monday", start_time: "12:00:00", end_time: "17:59:59", max_uploads: 1, slot_name: "afternoon", is_active: true },
  ]);
  const [{ week: read }] = await db.q("select upload_scheduler.get_schedule($1) as week", [user]);
  t.same(read, designNote(user), "get_schedule gives back exactly what was loaded");
  const before = await snapshot(db);
  await db.q("select upload_scheduler.set_schedule($1, upload_scheduler.get_schedule($1))", [user]);
  t.equal(await snapshot(db), before, "set_schedule(u, get_schedule(u)) changes nothing");
});

t.test("get_schedule: Monday first, then by start time; defaults and pacing round-trip", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify([
    { day: "Sunday", start_time: "20:00:00", end_time: "21:00:00" },
    { day: "tuesday", start_time: "09:00:00", end_time: "09:59:59", max_uploads: 3, min_interval: "20 minutes" },
    { day: "monday", start_time: "18:00:00", end_time: "19:00:00", slot_name: "evening", is_active: false },
    { day: "monday", start_time: "07:00:00", end_time: "08:00:00", max_uploads: 0 },
  ])]);
  const [{ week }] = await db.q("select upload_scheduler.get_schedule($1) as week", [user]);
  t.same(week.map((s: any) => [s.day, s.start_time, s.max_uploads, s.slot_name, s.is_active, s.min_interval]), [
    ["monday", "07:00:00", 0, null, true, undefined],
    ["monday", "18:00:00", 1, "evening", false, undefined],
    ["tuesday", "09:00:00", 3, null, true, "00:20:00"],
    ["sunday", "20:00:00", 1, null, true, undefined],
  ]);
  const before = await snapshot(db);
  await db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify(week)]);
  t.equal(await snapshot(db), before, "the round trip changes nothing, pacing included");
  await db.q("select upload_scheduler.set_schedule($1, '[]')", [user]);
  t.same(await db.q("select id from upload_schedules"), [], "an empty array removes every slot");
});

t.test("replacing the week at 10:30 keeps an unchanged slot's id and today's count; a changed one is a new slot", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const [morning] = await db.q("select id from upload_scheduler.set_schedule($1, $2) where start_time = '09:00'", [user, JSON.stringify(designNote(user))]);
  await queueVideos(db, user, 4);
  t.equal((await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("09:30")])).length, 1, "the morning's one upload");

  const week = designNote(user);
  week[0]!.slot_name = "early";               // same (day, start, end): kept
  week[1]!.start_time = "12:30:00";           // another window: a new slot
  const slots = await db.q("select id, start_time, slot_name from upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify(week)]);
  t.equal(slots[0].id, morning.id, "the morning keeps its id");
  t.equal(slots[0].slot_name, "early");
  t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [morning.id, AT("10:30")]))[0].n, 1, "and its count of today");
  t.same(await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("10:31")]), [], "so it is still full: no fresh quota");
  t.equal((await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("12:30")])).length, 1, "the new afternoon slot has its own");
  t.same(await countersDrift(db), []);
});

t.test("every problem names the element and the key, and nothing changes", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const other = await addUser(db);
  await db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify(designNote(user))]);
  const before = await snapshot(db);
  const base = { day: "monday", start_time: "12:00:00", end_time: "17:59:59" };
  const refused = async (third: unknown, code: string, message: RegExp) => {
    const week = [{ day: "tuesday", start_time: "09:00:00", end_time: "10:00:00" }, { day: "wednesday", start_time: "09:00:00", end_time: "10:00:00" }, third];
    await rejects(t, db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify(week)]), code, message);
    t.equal(await snapshot(db), before, "nothing changed");
  };
  await refused({ ...base, max_uploads: -1 }, "UPQTA", /^slot 3 \(monday 12:00:00-17:59:59\): max_uploads -1 is negative\.$/);
  await refused({ ...base, max_upload: 2 }, "UPJSN", /slot 3 \(monday 12:00:00-17:59:59\): unknown key "max_upload"/);
  await refused({ ...base, max_uploads: 1.5 }, "UPQTA", /max_uploads 1.5 is not a whole number/);
  await refused({ ...base, max_uploads: "2" }, "UPQTA", /max_uploads "2" is not a whole number/);
  await refused({ ...base, day: "Funday" }, "UPDAY", /slot 3 \(Funday 12:00:00-17:59:59\): day "Funday" is not a weekday/);
  await refused({ ...base, start_time: "25:00" }, "UPTIM", /start_time "25:00" is not a time of day/);
  await refused({ ...base, end_time: "11:00:00" }, "UPTIM", /Slot 12:00:00-11:00:00 on monday ends before it starts/);
  await refused({ ...base, end_time: undefined }, "UPJSN", /end_time is missing/);
  await refused({ ...base, slot_name: "x".repeat(51) }, "UPNAM", /slot_name 'x+' is 51 characters long/);
  await refused({ ...base, is_active: "yes" }, "UPJSN", /is_active "yes" is not true or false/);
  await refused({ ...base, is_active: null }, "UPJSN", /is_active is null/);
  await refused({ ...base, min_interval: "0 minutes" }, "UPPAC", /min_interval '00:00:00', which is not positive and under a day/);
  await refused({ ...base, min_interval: "soon" }, "UPPAC", /min_interval "soon" is not an interval/);
  await refused({ ...base, user_id: other }, "UPJSN", /user_id .* is not the user whose week this is/);
  await refused("monday 9 to 5", "UPJSN", /slot 3: "monday 9 to 5" is not an object/);
  await refused({ day: "tuesday", start_time: "09:30:00", end_time: "11:00:00" }, "UPOVL", /slot 3 \(tuesday 09:30:00-11:00:00\): Slot 09:30:00-11:00:00 on tuesday overlaps slot .* \(09:00:00-10:00:00\)/);
  await refused({ day: "Wednesday", start_time: "09:00:00", end_time: "10:00:00", is_active: false }, "UPOVL", /slot 3 .* repeats slot 2/);
  await rejects(t, db.q("select upload_scheduler.set_schedule($1, $2)", [user, JSON.stringify({ day: "monday" })]), "UPJSN", /p_slots is object, not a JSON array/);
  await rejects(t, db.q("select upload_scheduler.set_schedule($1, null)", [user]), "UPJSN", /p_slots is NULL/);
  await rejects(t, db.q("select upload_scheduler.set_schedule('00000000-0000-4000-8000-00000000dead', '[]')"), "UPNUS");
  t.equal(await snapshot(db), before, "nothing changed");
});
