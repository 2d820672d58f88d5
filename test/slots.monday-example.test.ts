// The design note's Monday, worked through a whole day with p_now.
import t from "tap";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { addUser, countersDrift, designNoteMonday, queueVideos } from "./fixtures/scenario.js";

// 2026-11-30 is a Monday.
const MONDAY = "2026-11-30";
const TUESDAY = "2026-12-01";

t.test("the design note's Monday: one upload in the morning, one in the afternoon", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const { morning, afternoon } = await designNoteMonday(db, user);
  const videos = await queueVideos(db, user, 5);

  const claim = async (local: string) =>
    (await db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, kolkata(local)]))[0];
  const active = async (local: string) =>
    (await db.q("select id from upload_scheduler.find_active_slot($1, $2)", [user, kolkata(local)]))[0]?.id;

  t.equal(await claim(`${MONDAY} 08:59:59`), undefined, "nothing before the morning slot opens");
  t.equal(await active(`${MONDAY} 08:59:59`), undefined, "no active slot at 08:59:59");

  t.equal(await active(`${MONDAY} 09:00:00`), morning, "the morning slot is active at 09:00:00 (inclusive start)");
  const first = await claim(`${MONDAY} 09:00:00`);
  t.equal(first.id, videos[0], "the oldest video is claimed first");
  t.equal(first.status, "pending");
  t.equal(first.slot_id, morning);
  t.same(
    await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [morning, kolkata(`${MONDAY} 10:00`)]),
    [{ n: 1 }],
    "the morning slot has used its one upload",
  );
  t.equal(await claim(`${MONDAY} 10:30:00`), undefined, "the morning slot is full: no second claim");
  t.equal(await active(`${MONDAY} 10:30:00`), undefined, "a full slot is not active");

  t.equal(await claim(`${MONDAY} 11:59:59.5`), undefined, "11:59:59.5 is still the (full) morning slot");
  const second = await claim(`${MONDAY} 12:00:00`);
  t.equal(second.id, videos[1], "the afternoon slot takes the next oldest video at 12:00:00");
  t.equal(second.slot_id, afternoon);
  t.equal(await claim(`${MONDAY} 17:59:59`), undefined, "the afternoon slot is full");
  t.equal(await claim(`${MONDAY} 18:00:00`), undefined, "no slot after 17:59:59");

  const [{ n }] = await db.q("select count(*)::int as n from videos where status = 'pending'");
  t.equal(n, 2, "two uploads in all on Monday, as the design note says");

  t.equal(await claim(`${TUESDAY} 09:30:00`), undefined, "no slots on Tuesday");
  const nextMonday = await claim(`2026-12-07 09:00:00`);
  t.equal(nextMonday.id, videos[2], "the next Monday's quota starts afresh");
  t.same(await countersDrift(db), [], "the counters agree with the videos");
});

t.test("both slot ends are inclusive, at whole seconds", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const { morning } = await designNoteMonday(db, user);
  const within = async (local: string) =>
    (await db.q("select upload_scheduler.is_within_time_slot($1, $2) as ok", [morning, kolkata(local)]))[0].ok;
  t.equal(await within(`${MONDAY} 08:59:59.999`), false, "08:59:59.999 is before the start");
  t.equal(await within(`${MONDAY} 09:00:00`), true, "09:00:00 (start) is inside");
  t.equal(await within(`${MONDAY} 11:59:59`), true, "11:59:59 (end) is inside");
  t.equal(await within(`${MONDAY} 11:59:59.5`), true, "11:59:59.5 is inside: compared at whole seconds");
  t.equal(await within(`${MONDAY} 12:00:00`), false, "12:00:00 is after the end");
  t.equal(await within(`${TUESDAY} 10:00:00`), false, "another weekday is outside");
});

t.test("a slot's quota counts per local date, and the next day starts afresh", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slots = [];
  for (const day of ["monday", "tuesday"]) {
    slots.push(await addSlot(db, user, day));
  }
  await queueVideos(db, user, 10);
  const tick = async (local: string) =>
    (await db.q("select * from upload_scheduler.claim_due_videos($1)", [kolkata(local)])).length;
  t.equal(await tick(`${MONDAY} 20:00`), 2, "Monday: a slot with room for 2 claims 2");
  t.equal(await tick(`${MONDAY} 20:30`), 0, "and no more that day");
  t.equal(await tick(`${TUESDAY} 20:00`), 2, "Tuesday has its own 2");
  t.same(
    await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [slots[0], kolkata(`${TUESDAY} 20:00`)]),
    [{ n: 0 }],
    "Monday's slot counts nothing on Tuesday's date",
  );
  t.equal(await tick(`2026-12-07 20:00`), 2, "the next Monday claims 2 again");
});

async function addSlot(db: Awaited<ReturnType<typeof testDatabase>>, user: string, day: string) {
  const [row] = await db.q(
    "insert into upload_schedules (user_id, day, start_time, end_time, max_uploads) values ($1, $2, '19:00', '21:00', 2) returning id",
    [user, day],
  );
  return row.id as string;
}
