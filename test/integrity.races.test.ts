// Integrity under races: real sessions, open transactions, every isolation level where it
// matters. A claim never lands in a slot being deleted, overlapping slots cannot both commit,
// and the sweeps, ticks and workers never deadlock.
import t, { type Test } from "tap";
import type pg from "pg";
import { kolkata, testDatabase, type TestDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos } from "./fixtures/scenario.js";

const AT = (local: string) => kolkata(`2026-11-30 ${local}`);

async function backendPid(client: pg.PoolClient): Promise<number> {
  return (await client.query("select pg_backend_pid() as pid")).rows[0].pid;
}

/** Whether the backend `pid` comes to wait for a lock (so the race is really on). */
async function blockedPid(db: TestDatabase, pid: number) {
  for (let i = 0; i < 200; i++) {
    const [row] = await db.q("select wait_event_type from pg_stat_activity where pid = $1", [pid]);
    if (row?.wait_event_type === "Lock") return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

t.test("6. a claim racing a slot's deletion never leaves a video claimed into a slot that is gone", async (t) => {
  const setup = async (t: Test) => {
    const db = await testDatabase(t);
    const user = await addUser(db);
    const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 3 });
    await queueVideos(db, user, 5);
    const deleter = await db.connect();
    const claimer = await db.connect();
    return { db, user, slot, deleter, claimer, claimerPid: await backendPid(claimer), deleterPid: await backendPid(deleter) };
  };
  const nothingLeft = async (t: Test, db: TestDatabase) => {
    t.same(await db.q("select id, status, slot_id from videos where status = 'pending' or slot_id is not null"), [],
      "no video is pending in (or points at) the deleted slot");
    t.same(await db.q("select count(*)::int as n from upload_scheduler.places where released_at is null"), [{ n: 0 }],
      "and their places were given back");
    t.same(await countersDrift(db), []);
  };

  t.test("the deletion comes first, in a transaction held open: a tick skips the user, a user's claim waits", async (t) => {
    const { db, user, slot, deleter, claimer, claimerPid } = await setup(t);
    await deleter.query("begin");
    await deleter.query("delete from upload_schedules where id = $1", [slot]);
    t.same((await claimer.query("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).rows, [],
      "the tick does not wait for a schedule being changed: it leaves the user to the next tick");
    const claim = claimer.query("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:00")]);
    t.ok(await blockedPid(db, claimerPid), "the user's own claim waits for the deletion");
    await deleter.query("commit");
    t.same((await claim).rows, [], "and then finds the slot gone: nothing claimed");
    t.same(await db.q("select id from upload_scheduler.claim_due_videos($1)", [AT("10:01")]), [], "nor by the next tick");
    await nothingLeft(t, db);
  });

  t.test("the claim comes first, in a transaction held open: the deletion waits, then sends the claims back", async (t) => {
    const { db, slot, deleter, claimer, deleterPid } = await setup(t);
    await claimer.query("begin");
    t.equal((await claimer.query("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).rows.length, 3, "three claimed into the slot");
    const deletion = deleter.query("delete from upload_schedules where id = $1", [slot]);
    t.ok(await blockedPid(db, deleterPid), "the deletion waits for the claim");
    await claimer.query("commit");
    await deletion;
    await nothingLeft(t, db);
    t.same(await db.q("select count(*)::int as n from videos where status = 'initiate'"), [{ n: 5 }], "the claims went back to the queue");
  });

  t.test("a deletion at REPEATABLE READ that began before a claim fails to serialise instead of missing it", async (t) => {
    const { db, slot, deleter, claimer } = await setup(t);
    await deleter.query("begin isolation level repeatable read");
    await deleter.query("select count(*) from videos");
    t.equal((await claimer.query("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).rows.length, 3);
    const refused = await deleter.query("delete from upload_schedules where id = $1", [slot]).catch((e) => e);
    t.equal(refused.code, "40001", `the deletion: ${refused.message}`);
    await deleter.query("rollback");
    t.same(await db.q("select count(*)::int as n from videos where status = 'pending' and slot_id = $1", [slot]), [{ n: 3 }],
      "the slot and its three claims stand");
    t.same(await countersDrift(db), []);
  });

  t.test("a plain write of a counted video waits for a deletion of its slot, then is refused", async (t) => {
    const { db, user, slot, deleter, claimer, claimerPid } = await setup(t);
    await deleter.query("begin");
    await deleter.query("delete from upload_schedules where id = $1", [slot]);
    const write = claimer.query(
      "insert into videos (user_id, status, slot_id, slot_date, claimed_at) values ($1, 'pending', $2, '2026-11-30', $3)",
      [user, slot, AT("10:00")]).catch((e) => e);
    t.ok(await blockedPid(db, claimerPid), "the write waits for the deletion (both take the user's due row)");
    await deleter.query("commit");
    t.equal((await write).code, "UPNSL", "then finds the slot gone");
    await nothingLeft(t, db);
  });
});

t.test("7. two sessions adding overlapping slots: one commits, at every isolation level", async (t) => {
  for (const level of ["read committed", "repeatable read", "serializable"]) {
    t.test(level, async (t) => {
      const db = await testDatabase(t);
      const user = await addUser(db);
      const a = await db.connect();
      const b = await db.connect();
      await a.query(`begin isolation level ${level}`);
      await b.query(`begin isolation level ${level}`);
      // Both take their snapshot before either inserts.
      await a.query("select count(*) from upload_schedules");
      await b.query("select count(*) from upload_schedules");
      await a.query("insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'monday', '09:00', '10:00')", [user]);
      const bPid = await backendPid(b);
      const second = b.query("insert into upload_schedules (user_id, day, start_time, end_time) values ($1, 'monday', '09:30', '10:30')", [user])
        .then(() => b.query("commit").then(() => "committed"), (e) => b.query("rollback").then(() => e.code as string));
      t.ok(await blockedPid(db, bPid), "the second waits for the first");
      await a.query("commit");
      const outcome = await second;
      t.ok(["23P01", "40001", "UPOVL"].includes(outcome), `the second is refused (${outcome})`);
      t.same(await db.q("select start_time from upload_schedules where user_id = $1 order by 1", [user]), [{ start_time: "09:00:00" }],
        "one slot, no overlap");
      t.same((await db.q("select start_time from upload_scheduler.open_slots($1) o join upload_schedules s on s.id = o.slot_id", [AT("09:45")])),
        [{ start_time: "09:00:00" }], "open_slots sees the one slot that holds 09:45");
      t.same((await db.q("select start_time from upload_scheduler.slot_status($1, $2) where is_open_now", [user, AT("09:45")])),
        [{ start_time: "09:00:00" }], "and slot_status agrees");
    });
  }
});

t.test("10. ticks, sweeps, direct claims, uploading workers and schedule edits racing for seconds never deadlock", async (t) => {
  const db = await testDatabase(t, { poolSize: 18 });
  const users: string[] = [];
  for (let i = 0; i < 24; i++) {
    const user = await addUser(db);
    await addSlot(db, user, { day: "monday", start: "00:00", end: "23:59:59", max: 40 });
    await queueVideos(db, user, 60);
    users.push(user);
  }
  // Simulated time advances one second per operation, shared by every session, so stale
  // claims (after 2 s) and interrupted uploads (after a minute) are swept all the time.
  let clock = Date.parse(AT("00:00"));
  const now = () => new Date((clock += 1000)).toISOString();
  const errors: string[] = [];
  const deadline = Date.now() + 4000;
  const loop = async (work: () => Promise<unknown>) => {
    while (Date.now() < deadline) {
      try {
        await work();
      } catch (error: any) {
        // Expected refusals: a video another session moved first (UPSTS), an attempt swept as
        // interrupted before its worker reported (UPSUP), and a start whose
        // simulated instant was taken before it waited for a tick that re-claimed the video
        // at a later one (real clocks cannot do that: the claim's transaction started first).
        if (error.code !== "UPSTS" && error.code !== "UPSUP" && !(error.code === "UPARG" && /is before video .* was claimed/.test(error.message))) {
          errors.push(`${error.code}: ${error.message}`);
        }
      }
    }
  };
  const worker = async () => {
    const pending = await db.q("select id from videos where status = 'pending' order by random() limit 3");
    for (const { id } of pending) {
      const [v] = await db.q("select * from upload_scheduler.start_upload_attempt($1, '1 day', 'test', $2)", [id, now()]);
      if (v.status !== "uploading") continue;
      if (Math.random() < 0.2) continue; // dies mid-upload: the interrupted sweep will fail it
      await db.q("select upload_scheduler.finish_upload_attempt($1, $2, $3, 'flaky', $4)", [id, v.attempts, Math.random() < 0.7 ? "success" : "failed", now()]);
    }
  };
  await Promise.all([
    loop(() => db.q("select * from upload_scheduler.run_tick('2 seconds', '3 seconds', 5, '1 minute', null, $1)", [now()])),
    loop(() => db.q("select * from upload_scheduler.run_tick('2 seconds', '3 seconds', 5, '1 minute', 20, $1)", [now()])),
    loop(() => db.q("select * from upload_scheduler.claim_due_videos($1, 15)", [now()])),
    loop(() => db.q("select upload_scheduler.reset_stale_pending_videos('2 seconds', $1)", [now()])),
    loop(() => db.q("select upload_scheduler.fail_interrupted_uploads('1 minute', $1)", [now()])),
    loop(() => db.q("select upload_scheduler.retry_failed_videos('3 seconds', 5, $1)", [now()])),
    loop(() => db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [users[Math.floor(Math.random() * users.length)], now()])),
    loop(worker),
    loop(worker),
    loop(worker),
    loop(worker),
    // People editing the schedule meanwhile: slots deleted and re-created, moved, exceptions.
    loop(async () => {
      const user = users[Math.floor(Math.random() * users.length)];
      await db.q("delete from upload_schedules where user_id = $1", [user]);
      await db.q("insert into upload_schedules (user_id, day, start_time, end_time, max_uploads) values ($1, 'monday', '00:00', '23:59:59', 40)", [user]);
    }),
    loop(async () => {
      const user = users[Math.floor(Math.random() * users.length)];
      await db.q("update upload_schedules set end_time = case when end_time = '23:59:59' then '23:59:58'::time else '23:59:59' end where user_id = $1", [user]);
      // (Only ever raised: the check below compares claims with the quota at the end.)
      await db.q(`insert into upload_schedule_exceptions (user_id, local_date, max_uploads) values ($1, '2026-11-30', 40)
                  on conflict (user_id, local_date, slot_id) do update set max_uploads = upload_schedule_exceptions.max_uploads + 1`, [user]);
    }),
  ]);
  t.same(errors, [], "no deadlock (40P01) and no other error");
  const [{ claims }] = await db.q("select count(*)::int as claims from upload_attempts");
  t.ok(claims > 50, `real work was done: ${claims} attempts on record`);
  t.same(await countersDrift(db), [], "the counters equal a recount");
  t.same(await db.q(`select s.id, p.local_date, count(*)::int as places, coalesce(e.max_uploads, s.max_uploads) as quota
                     from upload_schedules s
                     join upload_scheduler.places p
                       on p.user_id = s.user_id and p.released_at is null
                      and p.start_time <= s.end_time and s.start_time <= p.end_time
                     left join upload_schedule_exceptions e on e.user_id = s.user_id and e.local_date = p.local_date and e.slot_id is null
                     group by s.id, p.local_date, e.max_uploads, s.max_uploads
                     having count(*) > coalesce(e.max_uploads, s.max_uploads)`), [],
    "no slot over its quota (of the day, exceptions applied) by a claim");
});
