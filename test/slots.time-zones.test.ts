// Local times are read in each slot owner's time zone; the default is Asia/Kolkata.
import t from "tap";
import { DateTime } from "luxon";
import { testDatabase } from "./fixtures/db.js";
import { explainPlans, statementHead } from "./fixtures/plans.js";
import { addSlot, addUser, queueVideos } from "./fixtures/scenario.js";

t.test("current_time_info is the clock in a time zone, Asia/Kolkata by default", async (t) => {
  const db = await testDatabase(t);
  const [kolkata] = await db.q(
    "select local_timestamp::text, local_date::text, day, local_time::text, time_zone from upload_scheduler.current_time_info(p_now => '2026-11-29 20:00:00Z')",
  );
  t.same(kolkata, {
    local_timestamp: "2026-11-30 01:30:00", local_date: "2026-11-30", day: "monday", local_time: "01:30:00", time_zone: "Asia/Kolkata",
  }, "20:00 UTC on Sunday is 01:30 on Monday in Kolkata");
  const [ny] = await db.q("select day, local_time::text from upload_scheduler.current_time_info('America/New_York', '2026-11-29 20:00:00Z')");
  t.same(ny, { day: "sunday", local_time: "15:00:00" });
});

t.test("a user in another time zone is scheduled on their own clock", async (t) => {
  const db = await testDatabase(t);
  const india = await addUser(db);
  const newYork = await addUser(db, "America/New_York");
  t.same(await db.q("select time_zone from users where id = $1", [india]), [{ time_zone: "Asia/Kolkata" }], "the default zone");
  for (const user of [india, newYork]) {
    await addSlot(db, user, { day: "monday", start: "09:00", end: "09:59:59", max: 1 });
    await queueVideos(db, user, 2);
  }
  // Monday 09:30 in New York is Monday 20:00 in Kolkata, outside India's slot.
  const nyMorning = DateTime.fromISO("2026-11-30T09:30", { zone: "America/New_York" }).toISO();
  const claimed = await db.q("select user_id from upload_scheduler.claim_due_videos($1)", [nyMorning]);
  t.same(claimed, [{ user_id: newYork }], "only the New York user's slot is open at 09:30 New York time");
  const indiaMorning = DateTime.fromISO("2026-11-30T09:30", { zone: "Asia/Kolkata" }).toISO();
  const claimed2 = await db.q("select user_id from upload_scheduler.claim_due_videos($1)", [indiaMorning]);
  t.same(claimed2, [{ user_id: india }], "and only the Indian user's at 09:30 Kolkata time");
  const [row] = await db.q("select slot_date::text from videos where user_id = $1 and status = 'pending'", [newYork]);
  t.equal(row.slot_date, "2026-11-30", "the claim counts against the New York local date");
});

t.test("the local date, not the UTC date, decides the day's quota", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db, "Pacific/Auckland");
  await addSlot(db, user, { day: "tuesday", start: "08:00", end: "12:00", max: 1 });
  await queueVideos(db, user, 3);
  // Tuesday 2026-12-01 09:00 in Auckland (UTC+13) is Monday 20:00 UTC.
  const first = await db.q("select slot_date::text from upload_scheduler.claim_due_videos('2026-11-30 20:00Z')");
  t.same(first, [{ slot_date: "2026-12-01" }]);
  const again = await db.q("select * from upload_scheduler.claim_due_videos('2026-11-30 22:30Z')");
  t.equal(again.length, 0, "the same Auckland Tuesday is already full");
});

t.test("a zone is checked against the names kept in the database, not the tz database's files, row after row", async (t) => {
  const db = await testDatabase(t);
  // Every place's zone of pg_timezone_names is kept (the tz database's plumbing is not).
  const [{ missing, plumbing }] = await db.q(
    `select (select count(*)::int from pg_timezone_names n
             where upload_scheduler_private.is_place_time_zone(n.name)
               and not exists (select 1 from upload_scheduler.time_zone_names z where z.name = n.name)) as missing,
            (select count(*)::int from upload_scheduler.time_zone_names z
             where z.name in ('localtime', 'posixrules', 'Factory') or z.name ~ '^(posix|right)/') as plumbing`,
  );
  t.equal(missing, 0, "every zone of the server's tz database is kept");
  t.equal(plumbing, 0, "none of its plumbing is");

  // Limits in a zone no user has, in bulk: no row reads pg_timezone_names (which reads the tz
  // database's files from disk: about 20 ms a row, so 20,000 limits took minutes).
  const users = await db.q("insert into users (id) select gen_random_uuid() from generate_series(1, 30) returning id");
  const client = await db.connect();
  const explained = await explainPlans(client);
  const { rowCount } = await client.query(
    "insert into upload_limits (user_id, max_uploads, per, time_zone) select x, 6, interval '1 day', 'America/Los_Angeles' from unnest($1::uuid[]) x",
    [users.map((u) => u.id)],
  );
  await explained.off();
  const reads = (name: string) => explained.plans.filter((p) => JSON.stringify(p).includes(name));
  t.equal(rowCount, 30, "the limits went in");
  t.ok(reads("time_zone_names").length > 0, "each row's zone was looked up among the names kept");
  t.same(reads("pg_timezone_names").map((p) => statementHead(p)), [], "no row read the tz database's files");

  // A zone the server's tz database has but the kept names lack (its tz data grew since they were
  // read) is still accepted; a name that is no zone is still refused, with the hint.
  await db.q("delete from upload_scheduler.time_zone_names where name = 'Pacific/Chatham'");
  const [chatham] = await db.q("insert into users (id, time_zone) values (gen_random_uuid(), 'Pacific/Chatham') returning time_zone");
  t.equal(chatham.time_zone, "Pacific/Chatham", "a zone only pg_timezone_names knows is accepted");
  await t.rejects(db.q("insert into users (id, time_zone) values (gen_random_uuid(), 'Mars/Olympus_Mons')"), { code: "UPTZN", hint: /IANA time zone name/ });
  await t.rejects(db.q("insert into users (id, time_zone) values (gen_random_uuid(), 'posixrules')"), { code: "UPTZN" });
});
