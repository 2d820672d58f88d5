// Many workers race; the database keeps the promises: no slot over quota, no video twice.
import t from "tap";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, countersDrift, queueVideos } from "./fixtures/scenario.js";

const MONDAY_10 = kolkata("2026-11-30 10:00");

t.test("16 connections racing on one slot with room for 3 claim exactly 3 different videos", async (t) => {
  const db = await testDatabase(t, { poolSize: 20 });
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 3 });
  await queueVideos(db, user, 20);
  const clients = await Promise.all(Array.from({ length: 16 }, () => db.connect()));
  // Every connection is inside its transaction before any of them claims.
  await Promise.all(clients.map((c) => c.query("begin")));
  const results = await Promise.all(
    clients.map(async (c) => {
      const { rows } = await c.query("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, MONDAY_10]);
      // Hold the transaction open so the others must really wait or skip.
      await c.query("select pg_sleep(0.02)");
      await c.query("commit");
      return rows;
    }),
  );
  const ids = results.flat().map((r) => r.id);
  t.equal(ids.length, 3, "exactly 3 claims");
  t.equal(new Set(ids).size, 3, "all different");
  t.same(await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [slot, MONDAY_10]), [{ n: 3 }]);
  t.same(await countersDrift(db), []);
});

t.test("a video locked by another transaction is skipped, not waited for", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 5 });
  const [oldest, second] = await queueVideos(db, user, 3);
  const holder = await db.connect();
  await holder.query("begin");
  await holder.query("select 1 from videos where id = $1 for update", [oldest]);
  const [claimed] = await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, MONDAY_10]);
  t.equal(claimed.id, second, "the claim skips the locked oldest video and takes the next");
  await holder.query("rollback");
});

t.test("claim_due_videos racing from several connections fills each slot exactly once", async (t) => {
  const db = await testDatabase(t, { poolSize: 12 });
  const users: string[] = [];
  for (let i = 0; i < 40; i++) {
    const user = await addUser(db);
    await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 2 });
    await queueVideos(db, user, 5);
    users.push(user);
  }
  const clients = await Promise.all(Array.from({ length: 8 }, () => db.connect()));
  await Promise.all(clients.map((c) => c.query("begin")));
  const results = await Promise.all(
    clients.map(async (c, i) => {
      // Each tick sees a slightly different instant inside the same slot.
      const { rows } = await c.query("select id, user_id from upload_scheduler.claim_due_videos($1)", [kolkata(`2026-11-30 10:0${i}`)]);
      await c.query("select pg_sleep(0.01)");
      await c.query("commit");
      return rows;
    }),
  );
  const claims = results.flat();
  t.equal(claims.length, 80, "2 claims for each of 40 users, over all 8 ticks");
  t.equal(new Set(claims.map((c) => c.id)).size, 80, "no video claimed twice");
  const perUser = await db.q("select user_id, count(*)::int as n from videos where status = 'pending' group by 1 having count(*) <> 2");
  t.same(perUser, [], "every user has exactly 2 pending");
  const oldest = await db.q(`
    select count(*)::int as n from videos p join videos w on w.user_id = p.user_id
    where p.status = 'pending' and w.status = 'initiate' and w.created_at < p.created_at`);
  t.same(oldest, [{ n: 0 }], "the claimed videos are each user's oldest");
  t.same(await countersDrift(db), []);
});

t.test("claim_due_videos honours p_limit", async (t) => {
  const db = await testDatabase(t);
  for (let i = 0; i < 5; i++) {
    const user = await addUser(db);
    await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 3 });
    await queueVideos(db, user, 3);
  }
  t.equal((await db.q("select * from upload_scheduler.claim_due_videos($1, 4)", [MONDAY_10])).length, 4);
  t.equal((await db.q("select * from upload_scheduler.claim_due_videos($1)", [MONDAY_10])).length, 11, "the rest on the next tick");
  t.same(await countersDrift(db), []);
});

t.test("uploads finishing while ticks claim: counters never drift and quotas hold", async (t) => {
  const db = await testDatabase(t, { poolSize: 12 });
  const users: string[] = [];
  for (let i = 0; i < 10; i++) {
    const user = await addUser(db);
    await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 3 });
    await queueVideos(db, user, 30);
    users.push(user);
  }
  // Four "workers" claim, start and finish (every third one fails) until nothing is left to claim.
  const worker = async (w: number) => {
    for (let round = 0; round < 40; round++) {
      const claimed = await db.q("select id from upload_scheduler.claim_due_videos($1)", [MONDAY_10]);
      for (const [i, v] of claimed.entries()) {
        await db.q("select upload_scheduler.start_upload($1, $2)", [v.id, MONDAY_10]);
        await db.q("select upload_scheduler.finish_upload($1, $2, 'flaky', $3)", [v.id, (i + w + round) % 3 !== 0, MONDAY_10]);
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  const over = await db.q(`
    select slot_id, count(*) from videos where status in ('pending', 'uploading', 'success') and slot_id is not null
    group by slot_id, slot_date having count(*) > 3`);
  t.same(over, [], "no slot went over its quota");
  const perUser = await db.q("select count(*)::int as n from videos where status = 'success' group by user_id");
  t.equal(perUser.length, users.length, "every user has successes");
  t.same(perUser.filter((r) => r.n !== 3), [], "every slot filled to exactly its quota with successes");
  t.same(await countersDrift(db), [], "counters equal the videos");
});
