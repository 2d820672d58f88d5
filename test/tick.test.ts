// One tick = one call of upload_scheduler.run_tick: sweeps, claims and enqueues atomically.
import t from "tap";
import { UploadSchedulerService } from "../src/index.js";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, queueVideos } from "./fixtures/scenario.js";

t.test("run_tick claims the due videos and adds one upload job each, oldest first, in one transaction", async (t) => {
  const db = await testDatabase(t);
  const users = [];
  for (let i = 0; i < 3; i++) {
    const user = await addUser(db);
    await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 2 });
    await queueVideos(db, user, 3, `2026-11-0${i + 1}T00:00:00Z`);
    users.push(user);
  }
  const client = await db.connect();
  await client.query("begin");
  const inTx = await new UploadSchedulerService(client).runTick({ now: kolkata("2026-11-30 10:00") });
  t.equal(inTx.claimed.length, 6);
  await client.query("rollback");
  t.same(await db.q("select count(*)::int as n from graphile_worker.jobs"), [{ n: 0 }], "rolled back: no job without its claim");
  t.same(await db.q("select count(*)::int as n from videos where status = 'pending'"), [{ n: 0 }], "and no claim without its job");

  const service = new UploadSchedulerService(db.pool);
  const tick = await service.runTick({ now: kolkata("2026-11-30 10:00") });
  t.equal(tick.claimed.length, 6);
  t.ok(tick.claimed.every((c) => c.attempt === 1 && c.slotDate === "2026-11-30"));
  const jobs = await db.q(`
    select j.payload->>'video_id' as video_id, j.max_attempts
    from graphile_worker._private_jobs j join graphile_worker._private_tasks k on k.id = j.task_id
    where k.identifier = 'upload_video' order by j.run_at`);
  const claimedOldestFirst = await db.q("select id from videos where status = 'pending' order by created_at, id");
  t.same(jobs.map((j) => j.video_id), claimedOldestFirst.map((v) => v.id), "one job per claimed video, oldest video first");
  t.equal(jobs.length, 6);
  t.same(jobs.filter((j) => j.max_attempts !== 1), [], "retries are the scheduler's policy, not the queue's");

  const again = await service.runTick({ now: kolkata("2026-11-30 10:01") });
  t.equal(again.claimed.length, 0, "the next minute claims nothing more: every slot is full");

  const later = await service.runTick({ now: kolkata("2026-11-30 10:31"), staleAfter: "30 minutes" });
  t.equal(later.staleReset, 6, "unstarted for 31 minutes: reset");
  t.equal(later.claimed.length, 6, "and claimed again in the same tick");
});
