// An upload's outcome, once known, is never lost: journaled, retried while the database is away,
// replayed by the next process when this one dies. On a throw-away cluster of its own.
import t, { type Test } from "tap";
import { spawnSync } from "node:child_process";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { OutcomeJournal, unsettledIn, type OutcomeRecord } from "../src/journal.js";
import { UploadOutcomes } from "../src/outcomes.js";
import { UploadSchedulerService } from "../src/service.js";
import { WaitingPool } from "../src/db/pool.js";
import { jsonLogger } from "../src/log.js";
import { TEST_APPLICATION_NAME, throwawayCluster } from "./fixtures/cluster.js";
import { openSlotWithVideos, waitFor } from "./fixtures/worker.js";
import type { TestDatabase } from "./fixtures/db.js";

const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;
const record = (videoId: string, attempt = 1, outcome: OutcomeRecord["outcome"] = "success"): OutcomeRecord => ({
  videoId, attempt, outcome, error: outcome === "success" ? null : "boom", at: new Date().toISOString(), worker: "test",
});
function capturedLogger() {
  const lines: any[] = [];
  return { logger: jsonLogger({}, (line) => lines.push(JSON.parse(line))), lines, events: () => lines.map((l) => l.event) };
}

/**
 * A start whose connection is cut while it waits: a second session holds the video's row in an
 * open transaction, the start waits for it, and its backend is terminated. Returns that session
 * (still in its transaction) and the start's promise, which retries.
 */
async function startCutWhileWaiting(t: Test, db: TestDatabase, outcomes: UploadOutcomes, id: string) {
  const holder = new pg.Client({ connectionString: db.url, application_name: TEST_APPLICATION_NAME });
  await holder.connect();
  t.teardown(() => holder.end());
  await holder.query("begin");
  await holder.query("select 1 from videos where id = $1 for update", [id]);
  const start = outcomes.begin(id);
  const rows = await waitFor("the start to wait for the row lock", async () => {
    const r = await db.q("select pid from pg_stat_activity where wait_event_type = 'Lock' and query like '%begin_attempt%'");
    return r.length > 0 && r;
  });
  await db.q("select pg_terminate_backend($1)", [rows[0].pid]);
  return { holder, start };
}

t.test("the journal", async (t) => {
  t.test("keeps what is not settled; the next process of the host adopts a dead process's journal, no one else's", async (t) => {
    const dir = t.testdir({});
    const dead = deadPid();
    const first = (await OutcomeJournal.open(dir, { hostname: "h", pid: dead })).journal;
    await first.append(record("a"));
    await first.append(record("b", 2, "timed_out"));
    await first.settle(record("a"));
    await first.settle(record("never journaled"));
    t.same(first.pending.map((r) => r.videoId), ["b"]);
    t.same((await first.close()).map((r) => r.videoId), ["b"], "close returns what is left");
    t.ok(readdirSync(dir).includes(`outcomes.h.${dead}.jsonl`), "a journal with outcomes left is kept");

    writeFileSync(path.join(dir, `outcomes.other-host.${dead}.jsonl`), JSON.stringify({ op: "outcome", ...record("other host") }) + "\n");
    writeFileSync(path.join(dir, `outcomes.h.${process.ppid}.jsonl`), JSON.stringify({ op: "outcome", ...record("alive") }) + "\n");
    writeFileSync(path.join(dir, "notes.txt"), "not a journal");

    const { journal, adopted } = await OutcomeJournal.open(dir, { hostname: "h", pid: process.pid });
    t.same(adopted.map((r) => [r.videoId, r.attempt, r.outcome, r.error]), [["b", 2, "timed_out", "boom"]], "the dead process's unsettled outcome is adopted");
    t.same(readdirSync(dir).sort(), [`outcomes.h.${process.pid}.jsonl`, `outcomes.h.${process.ppid}.jsonl`, `outcomes.other-host.${dead}.jsonl`, "notes.txt"].sort(),
      "the dead process's file is gone; another host's and a running process's are left alone");
    t.same(unsettledIn(readFileSync(journal.file, "utf8")).map((r) => r.videoId), ["b"], "the adopted outcome is in our journal before theirs is removed");
    await journal.settle(record("b", 2));
    t.same(await journal.close(), []);
    t.notOk(readdirSync(dir).includes(`outcomes.h.${process.pid}.jsonl`), "a journal with nothing left is removed at close");
  });

  t.test("a torn last line (the process died mid-write) is skipped", async (t) => {
    const text = [JSON.stringify({ op: "outcome", ...record("a") }), "null", JSON.stringify({ op: "settled", videoId: "x", attempt: 1 }),
      JSON.stringify({ op: "outcome", ...record("b") }).slice(0, 20)].join("\n");
    t.same(unsettledIn(text).map((r) => r.videoId), ["a"]);
  });

  t.test("a journal with nothing to write is emptied once it has grown", async (t) => {
    const dir = t.testdir({});
    const { journal } = await OutcomeJournal.open(dir, { hostname: "h", pid: process.pid }, { compactAfterLines: 4 });
    await journal.append(record("a"));
    await journal.append(record("b"));
    await journal.settle(record("a"));
    t.equal(readFileSync(journal.file, "utf8").trim().split("\n").length, 3, "not while an outcome is unsettled");
    await journal.settle(record("b"));
    t.equal(readFileSync(journal.file, "utf8"), "", "emptied");
    await journal.append(record("c"));
    t.same(unsettledIn(readFileSync(journal.file, "utf8")).map((r) => r.videoId), ["c"], "and written from its start again");
    await journal.close();
  });
});

t.test("outcomes against a database that goes away", async (t) => {
  const cluster = await throwawayCluster(t);

  async function setup(t: any, db: TestDatabase, options: { retryDelayMs?: number; firstWriteMs?: number; journalDir?: string } = {}) {
    const log = capturedLogger();
    const pool = new WaitingPool({ connectionString: db.url, max: 4 }, log.logger, { minDelayMs: 50, maxDelayMs: 300 });
    t.teardown(() => pool.end().catch(() => {}));
    const dir = options.journalDir ?? t.testdir({});
    const { journal } = await OutcomeJournal.open(dir, { hostname: "h", pid: process.pid });
    const outcomes = new UploadOutcomes(new UploadSchedulerService(pool), journal, log.logger, {
      worker: "h:1", startGrace: "5 minutes", lease: "1 minute", retryDelayMs: options.retryDelayMs, firstWriteMs: options.firstWriteMs ?? 300,
    });
    return { log, pool, dir, journal, outcomes };
  }
  async function claimed(db: TestDatabase, titles: string[]) {
    const { videos } = await openSlotWithVideos(db, titles);
    await db.q("select upload_scheduler.claim_due_videos()");
    return videos.map((v) => v.id);
  }
  const statusOf = async (db: TestDatabase, id: string) => (await db.q("select status, attempts, last_error from videos where id = $1", [id]))[0];

  t.test("written to the database at once, not journaled; refused for good when the attempt is not the current one", async (t) => {
    const db = await cluster.database(t);
    const { outcomes, journal, log, dir } = await setup(t, db);
    const [a, b, c] = await claimed(db, ["a", "b", "c"]);
    const begunA = await outcomes.begin(a!);
    t.equal(begunA?.ref.attempt, 1, "begun: attempt 1, with a token");
    t.match(begunA?.ref.token, /^[0-9a-f-]{36}$/);
    t.equal(await outcomes.begin(a!), null, "a second begin of the same video does nothing");
    t.ok(log.events().includes("upload_skipped"));
    const begunB = (await outcomes.begin(b!))!;
    const begunC = (await outcomes.begin(c!))!;

    t.equal(await outcomes.record(begunA!.ref, "success", { result: { remoteId: "r-1", remoteUrl: "https://example.test/r-1" } }), "written");
    t.same(await statusOf(db, a!), { status: "success", attempts: 1, last_error: null });
    t.same((await db.q("select remote_id, remote_url from videos where id = $1", [a]))[0], { remote_id: "r-1", remote_url: "https://example.test/r-1" },
      "what the destination answered is kept on the video");
    t.equal(await outcomes.record(begunB.ref, "timed_out", { error: "upload timed out after 2 seconds" }), "written");
    t.same(await statusOf(db, b!), { status: "failed", attempts: 1, last_error: "upload timed out after 2 seconds" });
    t.equal(await outcomes.record({ ...begunC.ref, attempt: 2 }, "success"), "refused", "attempt 2 never began: no token proves it");
    t.equal(await outcomes.record({ ...begunC.ref, token: randomUUID() }, "success"), "refused", "another token cannot end the attempt");
    t.equal(await outcomes.record(begunA!.ref, "success"), "written", "the same outcome written twice (an answer lost on the way) is taken again, harmlessly");
    t.equal(await outcomes.record(begunA!.ref, "failed", { error: "late" }), "superseded", "a different outcome for a finished attempt is refused for good");
    t.same(await statusOf(db, a!), { status: "success", attempts: 1, last_error: null }, "the first outcome stands");
    t.equal((await statusOf(db, c!)).status, "uploading", "the current attempt is left alone");
    t.same(journal.pending, [], "nothing waits in the journal");
    t.equal(readFileSync(journal.file, "utf8"), "", "and nothing was journaled: the database took every outcome at once");
    t.ok(dir);
  });

  t.test("an outcome learnt while the database is stopped is journaled, and written once it is back", async (t) => {
    const db = await cluster.database(t);
    const { outcomes, log, journal } = await setup(t, db);
    const [id] = await claimed(db, ["a"]);
    const begun = (await outcomes.begin(id!))!;
    await cluster.stop();
    const recorded = outcomes.record(begun.ref, "success");
    let done = false;
    recorded.then(() => (done = true));
    await waitFor("the outcome to be journaled", async () => journal.pending.length === 1);
    t.notOk(done, "waiting for the database");
    t.equal(outcomes.blocked, null, "journaled: the worker is not blocked");
    await cluster.start();
    t.equal(await recorded, "written");
    t.equal((await statusOf(db, id!)).status, "success");
    t.same(journal.pending, [], "settled in the journal");
    t.ok(log.events().includes("database_reachable"));
  });

  t.test("a database error that is not about the connection (a lock held past statement_timeout) is retried, and flush() waits for it", async (t) => {
    const db = await cluster.database(t);
    const log = capturedLogger();
    const pool = new WaitingPool({ connectionString: db.url, max: 4, statement_timeout: 200 }, log.logger);
    t.teardown(() => pool.end());
    const { journal } = await OutcomeJournal.open(t.testdir({}), { hostname: "h", pid: process.pid });
    const outcomes = new UploadOutcomes(new UploadSchedulerService(pool), journal, log.logger, {
      worker: "h:1", startGrace: "5 minutes", lease: "1 minute", retryDelayMs: 100, maxRetryDelayMs: 200,
    });
    const [id] = await claimed(db, ["a"]);
    const begun = (await outcomes.begin(id!))!;
    const holder = new pg.Client({ connectionString: db.url, application_name: TEST_APPLICATION_NAME });
    await holder.connect();
    t.teardown(() => holder.end());
    await holder.query("begin");
    await holder.query("select 1 from upload_attempts where video_id = $1 for update", [id]);
    const recorded = outcomes.record(begun.ref, "success");
    await waitFor("a second try", async () => log.events().includes("outcome_still_unwritten"));
    t.equal(journal.pending.length, 1, "journaled after its first write failed");
    await outcomes.flush(300);
    t.equal(await Promise.race([recorded.then(() => "written"), Promise.resolve("still being written")]), "still being written",
      "flush gives up after its time while the outcome is still being written");
    await holder.query("rollback");
    await outcomes.flush(10_000);
    t.equal(await recorded, "written");
    t.match(log.lines.find((l) => l.event === "outcome_still_unwritten"), { error: /lock timeout|statement timeout/ });
    t.match(log.lines.find((l) => l.event === "outcome_written"), { tries: Number });
    await outcomes.flush(10);
    await outcomes.close();
  });

  t.test("the process stops while the database is away: the journal keeps the outcome, the next process writes it", async (t) => {
    const db = await cluster.database(t);
    const first = await setup(t, db);
    const [id] = await claimed(db, ["a"]);
    const begun = (await first.outcomes.begin(id!))!;
    await cluster.stop();
    t.teardown(() => cluster.start().catch(() => {}));
    const recorded = first.outcomes.record(begun.ref, "failed", { error: "platform said 500" });
    await waitFor("the outcome to be journaled", async () => first.journal.pending.length === 1);
    first.pool.gate.close(new Error("shutting down"));
    await first.outcomes.close();
    t.equal(await recorded, "kept");
    t.ok(first.log.events().includes("outcomes_kept_in_journal"));

    await cluster.start();
    const { journal, adopted } = await OutcomeJournal.open(first.dir, { hostname: "h", pid: process.pid });
    t.same(adopted.map((r) => [r.videoId, r.attempt, r.outcome, r.error, r.token]), [[id, 1, "failed", "platform said 500", begun.ref.token]]);
    const log = capturedLogger();
    const pool = new WaitingPool({ connectionString: db.url, max: 2 }, log.logger);
    t.teardown(() => pool.end());
    const next = new UploadOutcomes(new UploadSchedulerService(pool), journal, log.logger, { worker: "h:2", startGrace: "5 minutes", lease: "1 minute" });
    await next.replay(adopted);
    await next.replay([]);
    t.same(await statusOf(db, id!), { status: "failed", attempts: 1, last_error: "platform said 500" }, "written by the next process, with the attempt's token");
    await next.close();
  });

  t.test("the database away and DATA_DIR full: the worker is blocked, says why, and is unblocked once the outcome is written", { skip: process.getuid?.() !== 0 && "mounting a full file system needs root" }, async (t) => {
    const db = await cluster.database(t);
    const mount = mkdtempSync(path.join(tmpdir(), "upsched-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]);
    t.teardown(() => {
      execFileSync("umount", ["-l", mount]);
      rmSync(mount, { recursive: true, force: true });
    });
    const { outcomes, log, journal } = await setup(t, db, { journalDir: mount, firstWriteMs: 100 });
    // Fill it: the journal's file exists (opened at start), and no byte is left for a line.
    try {
      writeFileSync(path.join(mount, "filler"), Buffer.alloc(1024 * 1024));
    } catch (error) {
      t.equal((error as NodeJS.ErrnoException).code, "ENOSPC", "the file system is full");
    }
    const changes: boolean[] = [];
    outcomes.onBlocked((blocked) => changes.push(blocked));
    const [id] = await claimed(db, ["a"]);
    const begun = (await outcomes.begin(id!))!;
    await cluster.stop();
    const recorded = outcomes.record(begun.ref, "success");
    await waitFor("the worker to be blocked", async () => outcomes.blocked !== null);
    t.match(outcomes.blocked, /neither written to the database nor journaled under DATA_DIR \(ENOSPC\)/);
    t.equal(log.lines.filter((l) => l.event === "worker_blocked").length, 1, "said in one line");
    t.same(journal.pending, [], "nothing could be journaled");
    await cluster.start();
    t.equal(await recorded, "written", "written once the database is back");
    t.equal(outcomes.blocked, null, "unblocked");
    t.same(changes, [true, false]);
    t.ok(log.events().includes("worker_unblocked"));
    t.equal((await statusOf(db, id!)).status, "success");
  });

  t.test("a video deleted while it uploads: its outcome is refused for good, and replaying it does not hold up a start", async (t) => {
    const db = await cluster.database(t);
    const { outcomes, journal, log } = await setup(t, db);
    const [a, b] = await claimed(db, ["a", "b"]);
    const begun = (await outcomes.begin(a!))!;
    await db.q("delete from videos where id = any($1)", [[a, b]]);
    t.equal(await outcomes.record(begun.ref, "success"), "refused");
    t.same(journal.pending, [], "dropped from the journal");
    t.ok(log.events().includes("outcome_refused"));
    t.equal(await outcomes.begin(b!), null, "a deleted video is not started");
    t.ok(log.events().includes("upload_video_gone"));
    const replayed = outcomes.replay([{ ...begun.ref, outcome: "success", error: null, at: new Date().toISOString(), worker: "h:0" }]);
    t.equal(await Promise.race([replayed.then(() => "done"), new Promise((r) => setTimeout(() => r("still waiting"), 5000))]), "done",
      "a dead process's outcome for a deleted video is dropped at once");
  });

  t.test("a begin whose answer was lost with its connection, while another worker began the video: not uploaded here", async (t) => {
    const db = await cluster.database(t);
    const { outcomes, log } = await setup(t, db, { retryDelayMs: 400 });
    const [id] = await claimed(db, ["a"]);
    const { holder, start } = await startCutWhileWaiting(t, db, outcomes, id!);
    await holder.query("select * from upload_scheduler.begin_attempt($1, 'elsewhere:9')", [id]);
    await holder.query("commit");
    t.equal(await start, null);
    t.ok(log.events().includes("upload_skipped"));
  });

  t.test("a begin that loses its connection before it happened is simply retried", async (t) => {
    const db = await cluster.database(t);
    const { outcomes, log } = await setup(t, db, { retryDelayMs: 50 });
    const [id] = await claimed(db, ["a"]);
    const { holder, start } = await startCutWhileWaiting(t, db, outcomes, id!);
    await holder.query("rollback");
    t.equal((await start)?.video.status, "uploading", "begun on the retry");
    t.ok(log.events().includes("upload_start_lost"));
  });
});
