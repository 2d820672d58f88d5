// A running attempt's lease, as its worker keeps it: heartbeats renew it (and carry the bytes
// sent), the fence confirms it in the database, checkpoints need it, and it is lost, its signal
// firing, when the database refuses a renewal or when no renewal succeeded within the lease.
import t, { type Test } from "tap";
import pg from "pg";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { interruptDeadWorkers } from "../src/scheduler.js";
import { AttemptLease, LeaseLostError } from "../src/lease.js";
import { jsonLogger } from "../src/log.js";
import { UploadSchedulerService } from "../src/service.js";
import { testDatabase, type TestDatabase } from "./fixtures/db.js";
import { openSlotWithVideos, waitFor } from "./fixtures/worker.js";

function capturedLogger() {
  const lines: any[] = [];
  return { logger: jsonLogger({}, (line) => lines.push(JSON.parse(line))), lines, events: () => lines.map((l) => l.event) };
}

/** A video begun by "h:1" with a lease of `lease`, and a lease keeper for it. */
async function begun(t: Test, db: TestDatabase, options: { lease: string; leaseMs: number; heartbeatMs: number; service?: UploadSchedulerService }) {
  const service = options.service ?? new UploadSchedulerService(db.pool);
  const { videos } = await openSlotWithVideos(db, ["a"]);
  await db.q("select upload_scheduler.claim_due_videos()");
  const begunAt = performance.now();
  const attempt = (await service.beginAttempt(videos[0]!.id, { worker: "h:1", lease: options.lease }))!;
  const log = capturedLogger();
  const ref = { videoId: videos[0]!.id, attempt: attempt.attempt, token: attempt.token };
  const lease = new AttemptLease(service, ref, { lease: options.lease, leaseMs: options.leaseMs, heartbeatMs: options.heartbeatMs, logger: log.logger, begunAt });
  t.teardown(() => lease.stop());
  return { service, ref, lease, log, videoId: videos[0]!.id };
}

const leaseUntil = async (db: TestDatabase, videoId: string) =>
  (await db.q("select lease_until, bytes_sent, bytes_total from upload_attempts where video_id = $1", [videoId]))[0];

t.test("heartbeats renew the lease on the database's clock and carry the bytes sent; fence and checkpoint hold while it does", async (t) => {
  const db = await testDatabase(t);
  const { lease, videoId, log } = await begun(t, db, { lease: "10 seconds", leaseMs: 10_000, heartbeatMs: 200 });
  const first = (await leaseUntil(db, videoId)).lease_until as Date;
  lease.progress(1000, 5000);
  await waitFor("a heartbeat to renew it", async () => (await leaseUntil(db, videoId)).lease_until > first);
  await waitFor("the bytes to be written", async () => Number((await leaseUntil(db, videoId)).bytes_sent) === 1000);
  t.same((await db.q("select bytes_sent, bytes_total from videos where id = $1", [videoId]))[0], { bytes_sent: "1000", bytes_total: "5000" },
    "the video shows the progress too");
  t.equal(lease.bytesSent, 1000);
  lease.progress(Number.NaN, 5);
  t.equal(lease.bytesSent, 1000, "a figure that is not a number of bytes is ignored");
  await lease.fence();
  await lease.checkpoint({ uploadUrl: "http://tus.test/files/1", offset: 1000 });
  t.same((await db.q("select resume_state from videos where id = $1", [videoId]))[0].resume_state, { uploadUrl: "http://tus.test/files/1", offset: 1000 });
  t.notOk(lease.lost);
  t.notOk(lease.signal.aborted);
  t.same(log.events(), [], "nothing to say");
});

t.test("the database refuses a renewal (the attempt was swept): the lease is lost at once, its signal fires, fence and checkpoint throw", async (t) => {
  const db = await testDatabase(t);
  const { lease, videoId, log, ref } = await begun(t, db, { lease: "10 seconds", leaseMs: 10_000, heartbeatMs: 60_000 });
  // As a sweep would after the lease passed: the attempt is ended as interrupted.
  await db.q("update upload_attempts set lease_until = now() - interval '1 second' where video_id = $1", [videoId]);
  await db.q("select upload_scheduler.fail_interrupted_uploads()");
  await t.rejects(lease.fence(), LeaseLostError);
  t.ok(lease.lost);
  t.type(lease.signal.reason, LeaseLostError, "the upload's signal fired with a LeaseLostError");
  t.match(lease.signal.reason.message, new RegExp(`attempt ${ref.attempt} of video ${videoId} lost its lease: .*not running: it ended as interrupted`));
  await t.rejects(lease.checkpoint({ offset: 1 }), LeaseLostError, "no checkpoint once lost");
  t.match(log.lines.filter((l) => l.event === "lease_lost"), [{ video_id: videoId, attempt: ref.attempt }], "said once");
});

t.test("no renewal within the lease (the database does not answer): the lease counts as lost on this process's clock", async (t) => {
  const db = await testDatabase(t);
  // Renewals wait on a lock the test holds, and give up after 300 ms.
  const pool = new pg.Pool({ connectionString: db.url, max: 2, statement_timeout: 300 });
  t.teardown(() => pool.end());
  const { lease, videoId, log } = await begun(t, db, { lease: "2 seconds", leaseMs: 2000, heartbeatMs: 400, service: new UploadSchedulerService(pool) });
  const holder = await db.pool.connect();
  t.teardown(() => holder.release());
  await holder.query("begin");
  await holder.query("select 1 from upload_attempts where video_id = $1 for update", [videoId]);
  await t.rejects(lease.fence(), LeaseLostError, "a fence that cannot be confirmed throws");
  await waitFor("the lease to run out", async () => lease.signal.aborted, 10_000);
  t.match(lease.signal.reason.message, /lost its lease: its lease ran out before it could be renewed/);
  t.ok(log.events().includes("lease_not_renewed"), "each failed renewal is said");
  t.equal(log.events().filter((e) => e === "lease_lost").length, 1);
  await holder.query("rollback");
  await t.rejects(lease.fence(), LeaseLostError, "and it stays lost when the database answers again");
});

t.test("another token cannot renew, checkpoint or end the attempt (UPTOK)", async (t) => {
  const db = await testDatabase(t);
  const { service, ref, lease } = await begun(t, db, { lease: "10 seconds", leaseMs: 10_000, heartbeatMs: 60_000 });
  const other = { ...ref, token: "00000000-0000-4000-8000-000000000000" };
  await t.rejects(service.renewLease(other, "10 seconds"), { code: "UPTOK" });
  await t.rejects(service.saveCheckpoint(other, {}), { code: "UPTOK" });
  await t.rejects(service.endAttempt(other, "success"), { code: "UPTOK" });
  const forged = new AttemptLease(service, other, { lease: "10 seconds", leaseMs: 10_000, heartbeatMs: 60_000, logger: capturedLogger().logger, begunAt: performance.now() });
  t.teardown(() => forged.stop());
  await t.rejects(forged.fence(), LeaseLostError, "a lease kept with a forged token is lost at its first fence");
  await lease.fence();
  t.pass("the real one holds");
});

t.test("a worker starting on a host ends at once the attempts of that host's processes that are gone, not those still running", async (t) => {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const { videos } = await openSlotWithVideos(db, ["a", "b"]);
  await db.q("select upload_scheduler.claim_due_videos()");
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
  await service.beginAttempt(videos[0]!.id, { worker: `${hostname()}:${dead}`, lease: "1 hour" });
  await service.beginAttempt(videos[1]!.id, { worker: `${hostname()}:${process.pid}`, lease: "1 hour" });
  const log = capturedLogger();
  t.equal(await interruptDeadWorkers(service, log.logger), 1, "one attempt ended");
  t.same((await db.q("select title, status, last_outcome from videos order by title")),
    [{ title: "a", status: "failed", last_outcome: "interrupted" }, { title: "b", status: "uploading", last_outcome: null }],
    "the dead process's upload is interrupted (and will be retried, reconciled); the running one is left to its lease");
  t.match(log.lines, [{ event: "dead_workers_interrupted", pids: [dead], attempts: 1 }]);
  t.equal(await interruptDeadWorkers(service, log.logger), 0, "nothing more to do");
});
