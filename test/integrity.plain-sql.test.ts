// Integrity whoever writes: a psql user with plain SQL cannot get round the lifecycle, the
// quotas or the history. The lifecycle is written by the scheduler's functions alone (a plain
// UPDATE of it is refused, UPMOV, with the function to call in the hint); a video can be inserted
// as history, through the claim's own quota rules; the ledger of places is the scheduler's.
import t from "tap";
import { kolkata, rejects, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`); // a Monday in Kolkata

async function monday(t: Parameters<typeof testDatabase>[0], max = 2) {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max, name: "morning" });
  const videos = await queueVideos(db, user, 6);
  const used = async () => (await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [slot, AT("10:00")]))[0].n as number;
  return { db, user, slot, videos, used };
}

t.test("1. an id changed in the same UPDATE as the status cannot skip the lifecycle; ids never change", async (t) => {
  const { db, user, videos } = await monday(t);
  const before = await snapshot(db);
  await rejects(t, db.q("update videos set id = gen_random_uuid(), title = 'x' where id = $1", [videos[0]]), "UPIMM", /cannot change/);
  await rejects(t, db.q("update users set id = gen_random_uuid() where id = $1", [user]), "UPIMM", /id of user/);
  await rejects(t, db.q("update upload_schedules set id = gen_random_uuid()"), "UPIMM", /id of slot/);
  const other = await addUser(db);
  await rejects(t, db.q("update videos set user_id = $1 where id = $2", [other, videos[0]]), "UPIMM", /cannot be given to another user/);
  await rejects(t, db.q("update upload_schedules set user_id = $1", [other]), "UPIMM", /cannot be given to another user/);
  await db.q("delete from users where id = $1", [other]);
  t.equal(await snapshot(db), before, "nothing changed");

  // An uploaded video cannot be put back in the queue under a new id either.
  const [claimed] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:00")]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [claimed.id, AT("09:01")]);
  await db.q("select upload_scheduler.finish_upload($1, true, null, $2)", [claimed.id, AT("09:02")]);
  await rejects(t, db.q("update videos set id = gen_random_uuid(), title = 'renamed' where id = $1", [claimed.id]), "UPIMM");
  const refused = await rejects(t, db.q("update videos set status = 'initiate' where id = $1", [claimed.id]), "UPMOV", /A plain UPDATE cannot write status/);
  t.match(refused?.hint, /retry_video/, "the hint names the functions that move videos");
});

t.test("2. no setting turns a check off: the lifecycle and the ledger are the functions' alone", async (t) => {
  const { db, user, slot, videos, used } = await monday(t);
  const client = await db.connect();
  const before = await snapshot(db);
  await client.query("begin");
  await client.query("set local upload_scheduler.claim_counts_itself = on");
  await rejects(t, client.query("update videos set status = 'success', slot_id = $1, slot_date = '2026-11-30', finished_at = now() where id = $2", [slot, videos[0]]),
    "UPMOV", /cannot write status/);
  await client.query("rollback");
  // The ledger: no plain INSERT, UPDATE or DELETE, so no place can be forged or forgotten by hand.
  await rejects(t, db.q("insert into upload_scheduler.places (user_id, local_date, start_time, end_time, taken_at) values ($1, '2026-11-30', '09:00', '11:59:59', now())", [user]),
    "UPMOV", /ledger of places cannot be written by hand \(insert\)/);
  t.equal(await snapshot(db), before, "nothing changed");
  await client.query("begin");
  await client.query("set local upload_scheduler.claim_counts_itself = on");
  await client.query("select upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:00")]);
  await client.query("commit");
  t.equal(await used(), 1, "the claim took its place in the ledger");
  await rejects(t, db.q("update upload_scheduler.places set released_at = now()"), "UPMOV", /\(update\)/);
  await rejects(t, db.q("delete from upload_scheduler.places"), "UPMOV", /\(delete\)/);
  t.equal(await used(), 1, "the place is still taken");
  t.same(await countersDrift(db), []);
});

t.test("3. direct writes are limited: the quota, the slot's owner and its weekday", async (t) => {
  const { db, slot, videos, used } = await monday(t, 2);
  const insertDone = (n = 1) => db.q(
    `insert into videos (user_id, status, slot_id, slot_date, claimed_at, started_at, finished_at, attempts)
     select s.user_id, 'success', $1, '2026-11-30', $2, $2, $2, 1 from upload_schedules s cross join generate_series(1, $3) where s.id = $1`,
    [slot, AT("09:30"), n]);
  await insertDone(2);
  t.equal(await used(), 2, "two uploads imported into a slot of two");
  await rejects(t, insertDone(1), "UPFUL", /allows 2 uploads on 2026-11-30; video .* would count 3/);
  // Three at once, in one statement, into an empty slot of two: refused as a whole.
  const owner = (await db.q("select user_id from upload_schedules where id = $1", [slot]))[0].user_id;
  const fresh = await addSlot(db, owner, { day: "tuesday", start: "09:00", end: "10:00", max: 2 });
  const tuesdayBefore = await snapshot(db);
  await rejects(t, db.q(`insert into videos (user_id, status, slot_id, slot_date, claimed_at)
                         select $1, 'pending', $2, '2026-12-01', $3 from generate_series(1, 3)`, [owner, fresh, kolkata("2026-12-01 09:00")]), "UPFUL");
  t.equal(await snapshot(db), tuesdayBefore, "nothing changed");
  await db.q("delete from upload_schedules where id = $1", [fresh]);

  const stranger = await addUser(db);
  const strangerBefore = await snapshot(db);
  const history = (user: string, slotId: string, date: string) => db.q(
    "insert into videos (user_id, status, slot_id, slot_date, claimed_at) values ($1, 'pending', $2, $3, now())", [user, slotId, date]);
  await rejects(t, history(stranger, slot, "2026-12-07"), "UPVSL", /cannot count against slot .*, which belongs to user/);
  await rejects(t, history(owner, slot, "2026-12-01"), "UPVSL", /slot_date 2026-12-01 \(a tuesday\), but its slot .* is on monday/);
  await rejects(t, history(owner, "00000000-0000-4000-8000-00000000dead", "2026-11-30"), "UPNSL", /which does not exist/);
  t.equal(await snapshot(db), strangerBefore, "nothing changed");
  t.ok(videos.length);
  t.same(await countersDrift(db), []);
});

t.test("4. deleting uploads keeps their places; a deleted, re-created, moved or replaced slot sees the day's places in its window", async (t) => {
  const { db, user, slot, used } = await monday(t, 2);
  const [a] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:00")]);
  const [b] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:00")]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [a.id, AT("09:01")]);
  await db.q("select upload_scheduler.finish_upload($1, true, null, $2)", [a.id, AT("09:02")]);
  t.equal(await used(), 2);
  await db.q("delete from videos where id = $1", [a.id]);
  t.equal(await used(), 2, "a deleted upload keeps its place for the day");
  await db.q("delete from videos where id = $1", [b.id]);
  t.equal(await used(), 1, "a deleted pending claim gives its place back");
  t.equal((await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:10")])).length, 1, "which a claim takes");
  t.equal((await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:11")])).length, 0, "and then the slot is full");
  t.same(await countersDrift(db), []);

  // Delete the slot (its pending claim goes back to the queue) and insert it again: still full today.
  await db.q("delete from upload_schedules where id = $1", [slot]);
  t.same(await db.q("select count(*)::int as n from videos where status = 'pending' or slot_id is not null"), [{ n: 0 }],
    "the pending claim went back to the queue; no video points at the deleted slot");
  const again = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 2, name: "morning again" });
  t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [again, AT("10:00")]))[0].n, 1,
    "the re-created slot sees the one place the deleted upload keeps");
  t.equal((await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).length, 1, "one place left, not two");
  t.equal((await db.q("select * from upload_scheduler.claim_due_videos($1)", [AT("10:01")])).length, 0);

  // An overlapping slot at slightly different times inherits too; a later Monday starts afresh.
  await db.q("delete from upload_schedules where id = $1", [again]);
  const shifted = await addSlot(db, user, { day: "monday", start: "08:30", end: "10:15", max: 2 });
  t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [shifted, AT("10:00")]))[0].n, 1,
    "an overlapping window on the same weekday sees the day's places");
  t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [shifted, kolkata("2026-12-07 10:00")]))[0].n, 0,
    "next Monday is a new day");

  // Moving a slot to other times leaves its old window's places behind for whoever takes it.
  await db.q("update upload_schedules set start_time = '14:00', end_time = '15:00' where id = $1", [shifted]);
  const taker = await addSlot(db, user, { day: "monday", start: "09:00", end: "10:00", max: 2 });
  t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [taker, AT("10:00")]))[0].n, 1,
    "a slot created in the window another slot left sees its places");
  t.same(await countersDrift(db), []);
});

t.test("5. TRUNCATE is refused with a hint to use DELETE", async (t) => {
  const { db } = await monday(t);
  const before = await snapshot(db);
  await rejects(t, db.q("truncate upload_schedules"), "UPTRN", /TRUNCATE of public.upload_schedules is refused/);
  await rejects(t, db.q("truncate videos cascade"), "UPTRN", /TRUNCATE of public\.(videos|upload_attempts) is refused/);
  await rejects(t, db.q("truncate upload_scheduler.places"), "UPTRN");
  const error = await db.q("truncate videos").catch((e) => e);
  t.ok(error instanceof Error, `TRUNCATE videos fails too: ${error.message}`);
  t.equal(await snapshot(db), before, "nothing changed");
});

t.test("8. every clock parameter refuses NULL (and infinity) and changes nothing", async (t) => {
  const { db, user, slot, videos } = await monday(t);
  const [claimed] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("09:00")]);
  const before = await snapshot(db);
  const calls: Array<[string, unknown[]]> = [
    ["select * from upload_scheduler.current_time_info('Asia/Kolkata', $1)", []],
    ["select upload_scheduler.is_within_time_slot($2, $1)", [slot]],
    ["select upload_scheduler.upload_count_for_slot($2, $1)", [slot]],
    ["select * from upload_scheduler.find_active_slot($2, $1)", [user]],
    ["select * from upload_scheduler.open_slots($1)", []],
    ["select * from upload_scheduler.find_next_video_to_upload($2, $1)", [user]],
    ["select * from upload_scheduler.claim_due_videos($1)", []],
    ["select upload_scheduler.reset_stale_pending_videos('30 minutes', $1)", []],
    ["select upload_scheduler.start_upload($2, $1)", [claimed.id]],
    ["select upload_scheduler.finish_upload($2, true, null, $1)", [videos[5]]],
    ["select upload_scheduler.retry_failed_videos('30 minutes', 3, $1)", []],
    ["select upload_scheduler.fail_interrupted_uploads('35 minutes', $1)", []],
    ["select * from upload_scheduler.preview_tick($1)", []],
    ["select * from upload_scheduler.slot_status(null, $1)", []],
  ];
  for (const [sql, args] of calls) {
    await rejects(t, db.q(sql, [null, ...args]), sql.includes("finish_upload(") ? "UPSTS" : "UPARG");
    if (!sql.includes("finish_upload(")) await rejects(t, db.q(sql, ["infinity", ...args]), "UPARG", /p_now is infinity/);
  }
  await rejects(t, db.q("select upload_scheduler.start_upload($1, null)", [claimed.id]), "UPARG", /p_now is NULL/);
  t.equal(await snapshot(db), before, "nothing changed");
});

t.test("11. an upload starts inside its slot or within the grace after it; later, the video goes back to the queue", async (t) => {
  const { db, user, slot, used } = await monday(t, 3);
  const [a] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("11:59")]);
  const [b] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("11:59")]);
  await rejects(t, db.q("select upload_scheduler.start_upload($1, $2)", [a.id, AT("11:58")]), "UPARG", /before video .* was claimed/);
  const [onTime] = await db.q("select * from upload_scheduler.start_upload($1, $2)", [a.id, AT("12:04:59")]);
  t.equal(onTime.status, "uploading", "within 5 minutes of the slot's end (11:59:59) it starts");
  const [late] = await db.q("select * from upload_scheduler.start_upload($1, $2)", [b.id, AT("12:25")]);
  t.equal(late.status, "initiate", "26 minutes after the slot closed it goes back to the queue instead");
  t.equal(late.slot_id, null);
  t.equal(late.last_outcome, "late");
  t.equal(await used(), 1, "and gives its place back");
  const [record] = await db.q("select attempt, outcome, started_at, claimed_at, error from upload_attempts where video_id = $1", [b.id]);
  t.match(record, { attempt: 1, outcome: "late", started_at: null, claimed_at: new Date(AT("11:59")) }, "on record as late");
  t.match(record.error, /slot closed at/);
  // The runner's own grace: a longer START_GRACE lets it start.
  const [c] = await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("11:59:30")]);
  const [graced] = await db.q("select * from upload_scheduler.start_upload_attempt($1, '30 minutes', 'host:1', $2)", [c.id, AT("12:25")]);
  t.equal(graced.status, "uploading");
  t.equal(graced.worker, "host:1");
  t.same(await countersDrift(db), []);
  t.ok(slot);
});
