// Date exceptions, pause and pacing: "no uploads on 25 December", "pause this channel until
// Monday", "three uploads between 9 and 12, but not all at 9:00". Every function that decides
// or reports room follows them.
import t from "tap";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

// 2026-12-25 is a Friday, 2026-12-28 a Monday.
const AT = (date: string, local: string) => kolkata(`${date} ${local}`);

async function claims(db: any, at: string) {
  return (await db.q("select id from upload_scheduler.claim_due_videos($1)", [at])).length as number;
}

t.test("date exceptions: a day off, a launch day, a slot's row winning over the whole day's", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const fri = await addSlot(db, user, { day: "friday", start: "09:00", end: "11:59:59", max: 1, name: "morning" });
  const friPm = await addSlot(db, user, { day: "friday", start: "14:00", end: "15:00", max: 1, name: "afternoon" });
  await queueVideos(db, user, 12);
  await db.q(`insert into upload_schedule_exceptions (user_id, local_date, max_uploads, note)
              values ($1, '2026-12-25', 0, 'Christmas')`, [user]);
  t.equal(await claims(db, AT("2026-12-25", "09:00")), 0, "25 December: nothing claimed in the morning");
  t.equal(await claims(db, AT("2026-12-25", "14:00")), 0, "nor in the afternoon");
  t.same(await db.q("select max_uploads, used from upload_scheduler.open_slots($1)", [AT("2026-12-25", "09:00")]), [{ max_uploads: 0, used: 0 }]);
  t.same(await db.q("select * from upload_scheduler.find_active_slot($1, $2)", [user, AT("2026-12-25", "09:00")]), []);
  t.same(await db.q("select room, would_claim from upload_scheduler.preview_tick($1)", [AT("2026-12-25", "09:00")]), [{ room: 0, would_claim: [] }]);
  t.same(await db.q("select slot_name, quota_today, room_today from upload_scheduler.slot_status($1, $2)", [user, AT("2026-12-25", "09:00")]),
    [{ slot_name: "morning", quota_today: 0, room_today: 0 }, { slot_name: "afternoon", quota_today: 0, room_today: 0 }]);

  // The afternoon's own row wins over the whole day's: a launch at 14:00 with three uploads.
  await db.q(`insert into upload_schedule_exceptions (user_id, local_date, slot_id, max_uploads, note)
              values ($1, '2026-12-25', $2, 3, 'launch')`, [user, friPm]);
  t.equal(await claims(db, AT("2026-12-25", "14:00")), 3, "the launch slot takes three");
  t.equal(await claims(db, AT("2026-12-25", "09:30")), 0, "the morning is still off");
  t.equal(await claims(db, AT("2027-01-01", "09:00")), 1, "a week later the usual quota");

  // Plain SQL edits them; every writer is checked against the quota of the day.
  await db.q("update upload_schedule_exceptions set max_uploads = 1 where slot_id is null", []);
  t.equal(await claims(db, AT("2026-12-25", "09:30")), 1, "the morning reopened by an edit");
  await rejects(t, db.q(`insert into videos (user_id, status, slot_id, slot_date, finished_at) values ($1, 'success', $2, '2026-12-25', now())`, [user, fri]),
    "UPFUL", /allows 1 uploads on 2026-12-25 \(a date exception\)/);
  t.same(await countersDrift(db), []);
});

t.test("date exceptions are validated like slots", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const other = await addUser(db);
  const slot = await addSlot(db, user, { day: "friday", start: "09:00", end: "11:59:59" });
  const theirs = await addSlot(db, other, { day: "friday", start: "09:00", end: "11:59:59" });
  await db.q("insert into upload_schedule_exceptions (user_id, local_date) values ($1, '2026-12-25')", [user]);
  const before = await snapshot(db);
  const insert = (values: string) => db.q(`insert into upload_schedule_exceptions (user_id, local_date, slot_id, max_uploads) values ${values}`);
  const duplicate = await insert(`('${user}', '2026-12-25', null, 1)`).catch((e) => e);
  t.match(duplicate, { code: "23505", constraint: "upload_schedule_exceptions_one_per_slot_and_date" }, "one row per user, date and slot");
  await rejects(t, insert(`('${user}', '2026-12-25', '${theirs}', 0)`), "UPEXC", /belongs to user .*, not to user/);
  await rejects(t, insert(`('${user}', '2026-12-26', gen_random_uuid(), 0)`), "UPNSL", /no slot with id/);
  await rejects(t, insert(`('${user}', '2026-12-26', null, -1)`), "UPQTA", /max_uploads -1 is negative/);
  await rejects(t, insert(`('${user}', null, null, 0)`), "UPARG", /real local_date, not NULL/);
  await rejects(t, insert(`('${user}', 'infinity', null, 0)`), "UPARG", /not infinity/);
  await rejects(t, insert(`('00000000-0000-4000-8000-00000000dead', '2026-12-26', null, 0)`), "UPNUS");
  await rejects(t, db.q(`update upload_schedule_exceptions set user_id = '${other}'`), "UPIMM");
  await rejects(t, db.q("truncate upload_schedule_exceptions"), "UPTRN");
  t.equal(await snapshot(db), before, "nothing changed");
  await db.q(`insert into upload_schedule_exceptions (user_id, local_date, max_uploads) values ($1, '2026-12-25', 5)
              on conflict (user_id, local_date, slot_id) do update set max_uploads = excluded.max_uploads`, [user]);
  t.same(await db.q("select max_uploads from upload_schedule_exceptions where slot_id is null"), [{ max_uploads: 5 }], "and an upsert works");
  await insert(`('${user}', '2026-12-25', '${slot}', 2)`);
  t.pass("a slot's own row beside the whole day's is fine");
  await db.q("delete from upload_schedules where id = $1", [slot]);
  t.same(await db.q("select count(*)::int as n from upload_schedule_exceptions where slot_id is not null"), [{ n: 0 }],
    "deleting a slot deletes its exceptions");
});

t.test("pause: nothing of the user is claimed until it ends, by itself or by resume; uploads running finish", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 10 });
  await queueVideos(db, user, 10);
  t.equal(await claims(db, AT("2026-11-30", "09:00")), 10, "ten claimed before the pause");
  const [{ id: running }] = await db.q("select id from videos order by created_at limit 1");
  await db.q("select upload_scheduler.start_upload($1, $2)", [running, AT("2026-11-30", "09:01")]);
  // The other nine go back to the queue, as stale claims do.
  t.equal((await db.q("select upload_scheduler.reset_stale_pending_videos('1 minute', $1) as n", [AT("2026-11-30", "09:30")]))[0].n, 9);
  const [paused] = await db.q("select * from upload_scheduler.pause_uploads($1, $2, 'channel review', $3)",
    [user, AT("2026-11-30", "11:00"), AT("2026-11-30", "09:30")]);
  t.same([paused.uploads_paused_until, paused.pause_reason], [new Date(AT("2026-11-30", "11:00")), "channel review"]);
  t.equal(await claims(db, AT("2026-11-30", "09:31")), 0, "paused: nothing claimed");
  t.same((await db.q("select room, note from upload_scheduler.preview_tick($1)", [AT("2026-11-30", "10:59")]))[0],
    { room: 0, note: `paused until 2026-11-30 05:30:00+00: channel review` }, "the preview says why");
  await db.q("select upload_scheduler.finish_upload($1, true, null, $2)", [running, AT("2026-11-30", "10:00")]);
  t.equal((await db.q("select status from videos where id = $1", [running]))[0].status, "success", "the upload running finished");
  t.equal(await claims(db, AT("2026-11-30", "11:00")), 9, "the pause ends by itself at p_until");

  t.equal((await db.q("select upload_scheduler.reset_stale_pending_videos('1 minute', $1) as n", [AT("2026-11-30", "11:59")]))[0].n, 9);
  await db.q("update users set uploads_paused_until = 'infinity' where id = $1", [user]);
  t.equal(await claims(db, AT("2026-11-30", "12:00")), 0, "a plain UPDATE pauses too (until resumed)");
  await db.q("select upload_scheduler.resume_uploads($1)", [user]);
  t.equal(await claims(db, AT("2026-11-30", "12:01")), 9, "resume_uploads ends it");
  await rejects(t, db.q("select upload_scheduler.pause_uploads($1, $2, null, $3)", [user, AT("2026-11-30", "09:00"), AT("2026-11-30", "12:00")]),
    "UPARG", /p_until .* is not after p_now/);
  t.same(await countersDrift(db), []);
});

t.test("pacing: three uploads between 09:00 and 11:59:59, 45 minutes apart, go out at 09:00, 09:45, 10:30", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 3 });
  await db.q("update upload_schedules set min_interval = '45 minutes' where id = $1", [slot]);
  await queueVideos(db, user, 5);
  const claimedAt: string[] = [];
  for (let m = 8 * 60 + 55; m <= 12 * 60 + 5; m++) {
    const at = AT("2026-11-30", `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`);
    if (await claims(db, at) > 0) claimedAt.push(at);
  }
  t.same(claimedAt, [AT("2026-11-30", "09:00"), AT("2026-11-30", "09:45"), AT("2026-11-30", "10:30")], "ticked every minute, it claims three times");
  await rejects(t, db.q("update upload_schedules set min_interval = '-5 minutes' where id = $1", [slot]), "UPPAC", /min_interval '-00:05:00'/);
  await rejects(t, db.q("update upload_schedules set min_interval = '1 day' where id = $1", [slot]), "UPPAC");
  t.same(await countersDrift(db), []);
});
