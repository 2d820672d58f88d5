// The "One model" issue, each defect of its "Why" list now a test of what holds instead: no
// switch or table of the owner's turns the quota off, no setting turns a row rule off, a slot's
// use outlives the slot, no role's lock or open transaction stalls the tick or pins a worker,
// writes at another instant neither fail running uploads nor strand failed ones, midnights that
// happen twice are not missed, users are deleted whole, tenants learn nothing of each other's
// ids, nonsense is refused, and every error the scheduler raises has a kind.
import t, { type Test } from "tap";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import pg from "pg";
import { kolkata, rejects, testDatabase, type TestDatabase } from "./fixtures/db.js";
import { withAdmin } from "./fixtures/template.js";
import { addSlot, addUser, countersDrift, queueVideos, snapshot } from "./fixtures/scenario.js";

/** Monday 30 November 2026, Kolkata wall-clock time (the default zone of a user). */
const AT = (local: string) => kolkata(`2026-11-30 ${local}`);

const FIFTY_MB = "repeat('x', 50 * 1024 * 1024)";

/**
 * A login role (dropped afterwards) granted `group` (or none: a bare login role), and a
 * connection of it to the test database.
 */
async function loginAs(t: Test, db: TestDatabase, group: "upload_scheduler_app" | "upload_scheduler_worker" | null) {
  const name = `upsched_${group === null ? "bare" : group === "upload_scheduler_app" ? "app" : "worker"}_${randomBytes(4).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create role ${name} login password '${name}'${group ? ` in role ${group}` : ""}`));
  const url = new URL(db.url);
  url.username = name;
  // A password too: the embedded PostgreSQL (npm test without DATABASE_URL) asks for one.
  url.password = name;
  const client = new pg.Client({ connectionString: url.toString() });
  client.on("error", () => {});
  await client.connect();
  t.teardown(async () => {
    await client.end().catch(() => {});
    await withAdmin(async (admin) => {
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1", [name]);
      await admin.query(`drop role if exists ${name}`);
    });
  });
  const q = async (sql: string, values: unknown[] = []) => (await client.query(sql, values)).rows;
  const [{ pid }] = await q("select pg_backend_pid() as pid");
  return { name, client, q, pid: pid as number };
}

async function backendPid(client: pg.ClientBase): Promise<number> {
  return (await client.query("select pg_backend_pid() as pid")).rows[0].pid;
}

/** Whether the backend `pid` comes to wait for a lock (so the race is really on). */
async function blockedPid(db: TestDatabase, pid: number) {
  for (let i = 0; i < 500; i++) {
    const [row] = await db.q("select wait_event_type from pg_stat_activity where pid = $1", [pid]);
    if (row?.wait_event_type === "Lock") return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** The SQLSTATE a query ends with ("ok" when it succeeds). */
async function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => "ok", (e) => e.code ?? String(e));
}

t.test("the owner cannot switch the quota off: no flag or counter to write, plain writes of the ledger and the lifecycle refused (UPMOV), five pending inserts into a slot of 1 take one place (UPFUL)", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 1 });
  const [waiting] = await queueVideos(db, user, 1);

  // The old bypasses, tried by the owner in one transaction: a row in upload_scheduler.claiming
  // (the trigger then skipped the quota check), the day's counters zeroed. Each statement in a
  // savepoint, so a refused one leaves the transaction going.
  const owner = await db.connect();
  const step = async (sql: string, values: unknown[] = []) => {
    await owner.query("savepoint step");
    try {
      const { rows } = await owner.query(sql, values);
      await owner.query("release savepoint step");
      return rows;
    } catch (error) {
      await owner.query("rollback to savepoint step");
      throw error;
    }
  };
  await owner.query("begin");
  t.equal(await outcome(step("insert into upload_scheduler.claiming (txid) values (pg_current_xact_id())")), "42P01",
    "there is no claiming flag to set");
  // Five videos inserted as history, pending in the slot of 1 on one day.
  const insertPending = (n: number) => step(
    `insert into videos (user_id, title, status, slot_id, slot_date, claimed_at)
     values ($1, $2, 'pending', $3, '2026-11-30', $4) returning id`,
    [user, `imported ${n}`, slot, AT("09:00")]);
  const [first] = await insertPending(1);
  t.equal(await outcome(step("update upload_scheduler.slot_day_counts set used = 0")), "42P01", "nor counters to zero");
  for (let n = 2; n <= 5; n++) {
    await rejects(t, insertPending(n), "UPFUL", /allows 1 uploads on 2026-11-30/);
  }
  await owner.query("commit");
  t.same(await db.q("select id from videos where status in ('pending', 'uploading', 'success')"), [{ id: first.id }],
    "one of the five is counted");
  t.same(await db.q("select video_id from upload_scheduler.places where released_at is null"), [{ video_id: first.id }],
    "one place taken, by the first");
  t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [slot, AT("10:00")]))[0].n, 1);
  const afterFirst = await snapshot(db);

  // The ledger, by hand: insert, update, delete.
  for (const [sql, values] of [
    [`insert into upload_scheduler.places (user_id, local_date, start_time, end_time, slot_id, taken_at)
      values ($1, '2026-11-30', '09:00', '11:59:59', $2, now())`, [user, slot]],
    ["update upload_scheduler.places set released_at = now()", []],
    ["update upload_scheduler.places set local_date = '2026-12-07'", []],
    ["delete from upload_scheduler.places", []],
  ] as const) {
    await rejects(t, db.q(sql, [...values]), "UPMOV", /ledger of places cannot be written by hand/);
  }
  // The lifecycle, by hand: a claim of the waiting video, a withdrawal of the counted one.
  await rejects(t, db.q("update videos set status = 'pending', slot_id = $2, slot_date = '2026-11-30', claimed_at = $3 where id = $1",
    [waiting, slot, AT("09:30")]), "UPMOV", /A plain UPDATE cannot write/);
  await rejects(t, db.q("update videos set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null where id = $1",
    [first.id]), "UPMOV", /A plain UPDATE cannot write/);
  t.equal(await snapshot(db), afterFirst, "nothing changed");

  t.same(await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:00")]), [],
    "the slot is full: the waiting video is not claimed");
  t.same(await db.q("select count(*)::int as n from videos where status in ('pending', 'uploading', 'success')"), [{ n: 1 }]);
  t.same(await countersDrift(db), [], "the ledger agrees with the videos");
});

t.test("replica mode switches no row rule off: status 'exploded' and attempts -7 are refused with UPROW", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const [video] = await queueVideos(db, user, 1);
  const admin = await db.connect();
  t.ok((await admin.query("select rolsuper from pg_roles where rolname = current_user")).rows[0].rolsuper, "a superuser's session");
  const before = await snapshot(db);

  // Inside a transaction with replica mode set (every ordinary trigger off): committed if it goes through.
  const asReplica = async (sql: string, values: unknown[]) => {
    await admin.query("begin");
    await admin.query("set session_replication_role = replica");
    try {
      const result = await admin.query(sql, values);
      await admin.query("commit");
      return result;
    } catch (error) {
      await admin.query("rollback");
      throw error;
    } finally {
      await admin.query("reset session_replication_role");
    }
  };
  await rejects(t, asReplica("update videos set status = 'exploded' where id = $1", [video]), "UPROW", /Unknown video status 'exploded'/);
  await rejects(t, asReplica("update videos set attempts = -7 where id = $1", [video]), "UPROW", /attempts cannot be -7/);
  await rejects(t, asReplica("insert into videos (user_id, title, status) values ($1, 'boom', 'exploded')", [user]), "UPROW", /'exploded'/);
  await rejects(t, asReplica("insert into videos (user_id, title, attempts) values ($1, 'boom', -7)", [user]), "UPROW", /-7/);
  t.equal((await admin.query("show session_replication_role")).rows[0].session_replication_role, "origin", "replica mode is off again");
  t.equal(await snapshot(db), before, "nothing changed");
  t.same(await db.q("select status, attempts from videos"), [{ status: "initiate", attempts: 0 }]);
});

t.test("a slot deleted at REPEATABLE READ while its day's first use is counted: a slot re-created in its window never gets a fresh quota", async (t) => {
  const db = await testDatabase(t);
  // Each order of the race with its own user (and slot of 1, and three waiting videos).
  const setup = async () => {
    const user = await addUser(db);
    const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 1 });
    await queueVideos(db, user, 3);
    const claimer = await db.connect();
    const deleter = await db.connect();
    return { user, slot, claimer, deleter };
  };
  /** Ends a transaction: commit when its statement went through, rollback otherwise. */
  const settle = async (client: pg.PoolClient, result: string) => {
    await client.query(result === "ok" ? "commit" : "rollback");
    return result;
  };
  /** After the race, whatever its outcome: the slot gone, re-created in its window, claimed twice. */
  const afterwards = async (t: Test, user: string, slot: string) => {
    await db.q("delete from upload_schedules where id = $1", [slot]);
    const again = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 1 });
    const claims = [
      ...(await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:05")])),
      ...(await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:06")])),
      ...(await db.q("select id from upload_scheduler.claim_due_videos($1) where user_id = $2", [AT("10:07"), user])),
    ];
    t.ok(claims.length <= 1, `at most one claim into the re-created slot (${claims.length})`);
    t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [again, AT("10:10")]))[0].n, 1,
      "the re-created slot counts one use that day");
    // (Every claim of the user is on that Monday.)
    t.same(await db.q("select count(*)::int as n from videos where user_id = $1 and status in ('pending', 'uploading', 'success')", [user]),
      [{ n: 1 }], "one video counted on the day, where max_uploads is 1");
    t.same(await countersDrift(db), []);
  };

  // First: the tick claims for every user due, and the other orders' users must not be there yet.
  t.test("the deletion's snapshot predates a tick's claim of the day's first use", async (t) => {
    const { user, slot, claimer, deleter } = await setup();
    await deleter.query("begin isolation level repeatable read");
    await deleter.query("select count(*) from videos");
    t.equal((await claimer.query("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).rows.length, 1,
      "the tick claims the day's first use (and commits)");
    const deleted = await settle(deleter, await outcome(deleter.query("delete from upload_schedules where id = $1", [slot])));
    t.ok(["ok", "40001"].includes(deleted), `the deletion: ${deleted}`);
    await afterwards(t, user, slot);
  });

  t.test("the deletion's snapshot predates the commit of a video inserted as counted (the day's first use)", async (t) => {
    const { user, slot, claimer, deleter } = await setup();
    await claimer.query("begin isolation level repeatable read");
    await claimer.query(
      "insert into videos (user_id, title, status, slot_id, slot_date, claimed_at) values ($1, 'imported', 'pending', $2, '2026-11-30', $3)",
      [user, slot, AT("09:30")]);
    await deleter.query("begin isolation level repeatable read");
    await deleter.query("select count(*) from videos");
    await claimer.query("commit");
    const deleted = await settle(deleter, await outcome(deleter.query("delete from upload_schedules where id = $1", [slot])));
    t.ok(["ok", "40001"].includes(deleted), `the deletion: ${deleted}`);
    await afterwards(t, user, slot);
  });

  t.test("the deletion's snapshot predates the commit of a claim and its upload", async (t) => {
    const { user, slot, claimer, deleter } = await setup();
    await claimer.query("begin isolation level repeatable read");
    const [claimed] = (await claimer.query("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:00")])).rows;
    t.ok(claimed, "the day's first use is claimed");
    await claimer.query("select upload_scheduler.start_upload($1, $2)", [claimed.id, AT("10:01")]);
    await deleter.query("begin isolation level repeatable read");
    await deleter.query("select count(*) from videos");
    await claimer.query("commit");
    const deleted = await settle(deleter, await outcome(deleter.query("delete from upload_schedules where id = $1", [slot])));
    t.ok(["ok", "40001"].includes(deleted), `the deletion: ${deleted}`);
    await afterwards(t, user, slot);
    t.same(await db.q("select status from videos where id = $1", [claimed.id]), [{ status: "uploading" }], "the upload goes on, counted");
  });

  t.test("the deletion comes first and the claim waits for it", async (t) => {
    const { user, slot, claimer, deleter } = await setup();
    await deleter.query("begin isolation level repeatable read");
    await deleter.query("delete from upload_schedules where id = $1", [slot]);
    const claimerPid = await backendPid(claimer);
    await claimer.query("begin isolation level repeatable read");
    const claim = outcome(claimer.query("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:00")]));
    t.ok(await blockedPid(db, claimerPid), "the claim waits for the deletion");
    await deleter.query("commit");
    const claimed = await settle(claimer, await claim);
    t.ok(["ok", "40001"].includes(claimed), `the claim: ${claimed}`);
    await afterwards(t, user, slot);
  });

  t.test("the claim's snapshot predates the deletion", async (t) => {
    const { user, slot, claimer, deleter } = await setup();
    await claimer.query("begin isolation level repeatable read");
    await claimer.query("select count(*) from upload_schedules");
    await deleter.query("begin isolation level repeatable read");
    await deleter.query("delete from upload_schedules where id = $1", [slot]);
    await deleter.query("commit");
    const claimed = await settle(claimer, await outcome(
      claimer.query("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:00")])));
    t.ok(["ok", "40001"].includes(claimed), `the claim: ${claimed}`);
    await afterwards(t, user, slot);
  });
});

t.test("advisory locks held by any role (an application's, a bare login's) stop no tick", async (t) => {
  const db = await testDatabase(t);
  // Two users whose slots open one after the other, a video each.
  const early = await addUser(db);
  await addSlot(db, early, { day: "monday", start: "09:00", end: "09:59:59", max: 1 });
  const [earlyVideo] = await queueVideos(db, early, 1);
  const late = await addUser(db);
  await addSlot(db, late, { day: "monday", start: "10:00", end: "10:59:59", max: 1 });
  const [lateVideo] = await queueVideos(db, late, 1);

  const ticker = await db.connect();
  // A regression (a tick waiting for the lock) fails instead of hanging.
  await ticker.query("set statement_timeout = '5s'");

  const keys = ["hashtext('upload_scheduler: tick')", "hashtext('upload_scheduler')", "hashtext('upload_scheduler: due')", "0", "1", "-1"];
  const holdLocks = async (t: Test, session: { q: (sql: string) => Promise<any[]>; pid: number }) => {
    await session.q("begin");
    for (const key of keys) await session.q(`select pg_advisory_lock(${key})`);
    for (const key of keys) await session.q(`select pg_advisory_xact_lock_shared(${key})`);
    await session.q("select pg_advisory_lock(0, 0), pg_advisory_lock(1, 1)");
    const [{ n }] = await db.q("select count(*)::int as n from pg_locks where locktype = 'advisory' and granted and pid = $1", [session.pid]);
    t.equal(n, 2 * keys.length + 2, "the locks are held, in an open transaction");
  };

  t.test("an application role holds the tick's key: claim_due_videos claims for everyone", async (t) => {
    const app = await loginAs(t, db, "upload_scheduler_app");
    await app.q("select set_config('upload_scheduler.user_id', $1, false)", [early]);
    await holdLocks(t, app);
    const result = await outcome(ticker.query("select id from upload_scheduler.claim_due_videos($1)", [AT("09:30")]).then((r) => {
      t.same(r.rows.map((v) => v.id), [earlyVideo], "the tick claims the open slot's video");
    }));
    t.equal(result, "ok", "the tick returns");
    await app.q("rollback");
    await app.q("select pg_advisory_unlock_all()");
  });

  t.test("a bare login role holds the tick's key: run_tick claims for everyone", async (t) => {
    const bare = await loginAs(t, db, null);
    await holdLocks(t, bare);
    const result = await outcome(ticker.query("select * from upload_scheduler.run_tick(p_now => $1)", [AT("10:30")]).then((r) => {
      t.same(r.rows[0].claimed.map((c: any) => c.video_id), [lateVideo], "the tick claims the open slot's video");
    }));
    t.equal(result, "ok", "the tick returns");
    await bare.q("rollback");
  });
});

t.test("a tenant's open transaction that gives places back (a pending video deleted, its own upload failed) stalls no tick", async (t) => {
  const db = await testDatabase(t);
  const a = await addUser(db);
  await addSlot(db, a, { day: "monday", start: "09:00", end: "11:59:59", max: 3 });
  const [pendingA, uploadingA, waitingA] = await queueVideos(db, a, 3);
  const b = await addUser(db);
  await addSlot(db, b, { day: "monday", start: "09:00", end: "11:59:59", max: 2 });
  const videosB = await queueVideos(db, b, 2);

  const app = await loginAs(t, db, "upload_scheduler_app");
  await app.q("select set_config('upload_scheduler.user_id', $1, false)", [a]);
  t.same((await app.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [a, AT("09:00")])).map((v) => v.id), [pendingA]);
  t.same((await app.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [a, AT("09:00")])).map((v) => v.id), [uploadingA]);
  await app.q("select upload_scheduler.start_upload($1, $2)", [uploadingA, AT("09:01")]);

  await app.q("begin");
  t.equal((await app.q("delete from videos where id = $1 returning id", [pendingA])).length, 1, "tenant A deletes its pending video");
  t.same((await app.q("select status from upload_scheduler.finish_upload($1, false, 'gave up', $2)", [uploadingA, AT("09:30")])),
    [{ status: "failed" }], "and fails its own upload, in a transaction it keeps open");

  const ticker = await db.connect();
  await ticker.query("set statement_timeout = '5s'");
  const claimed: any[] = [];
  t.equal(await outcome(ticker.query("select id, user_id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])
    .then((r) => claimed.push(...r.rows))), "ok", "claim_due_videos returns");
  t.same(claimed.filter((v) => v.user_id === b).map((v) => v.id).sort(), [...videosB].sort(), "tenant B's videos are claimed");
  t.equal(await outcome(ticker.query("select * from upload_scheduler.run_tick(p_now => $1)", [AT("10:01")])), "ok",
    "run_tick (sweeps and all) returns too");
  t.ok(claimed.every((v) => v.user_id === b || v.id === waitingA), "nothing else is claimed");

  await app.q("commit");
  t.same(await db.q("select status from videos where id = $1", [uploadingA]), [{ status: "failed" }]);
  t.same(await db.q("select id from videos where id = $1", [pendingA]), []);
  t.same(await countersDrift(db), []);
});

t.test("a tenant holding FOR UPDATE on its own videos pins no worker: start and finish give up with 55P03", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 2 });
  const [toStart, toFinish] = await queueVideos(db, user, 2);
  t.equal((await db.q("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).length, 2);
  await db.q("select upload_scheduler.start_upload_attempt($1, '5 minutes', 'host:1', $2)", [toFinish, AT("10:01")]);

  const app = await loginAs(t, db, "upload_scheduler_app");
  await app.q("select set_config('upload_scheduler.user_id', $1, false)", [user]);
  await app.q("begin");
  t.equal((await app.q("select id from videos for update")).length, 2, "the tenant locks its own two videos");

  const w1 = await db.connect();
  const w2 = await db.connect();
  // A fail-safe only (a regression that waits for ever ends here, with 57014): never a measure.
  for (const w of [w1, w2]) await w.query("set statement_timeout = '25s'");
  const [start, finish] = await Promise.all([
    outcome(w1.query("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'host:2', $2)", [toStart, AT("10:02")])),
    outcome(w2.query("select * from upload_scheduler.finish_upload_attempt($1, 1, 'success', null, $2)", [toFinish, AT("10:03")])),
  ]);
  t.equal(start, "55P03", "start_upload_attempt gives up (lock_timeout)");
  t.equal(finish, "55P03", "finish_upload_attempt gives up (lock_timeout)");
  await app.q("rollback");

  t.same(await db.q("select id, status, attempts from videos order by status"),
    [{ id: toStart, status: "pending", attempts: 0 }, { id: toFinish, status: "uploading", attempts: 1 }], "nothing moved");
  const [done] = await db.q("select * from upload_scheduler.finish_upload_attempt($1, 1, 'success', null, $2)", [toFinish, AT("10:04")]);
  t.equal(done.status, "success", "once the tenant lets go, the worker's report lands");
  t.same(await countersDrift(db), []);
});

/** A UTC user whose slots cover today and tomorrow (by the database clock), with one video uploading now. */
async function uploadingNow(t: Test, db: TestDatabase) {
  const user = await addUser(db, "UTC");
  await db.q(
    `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
     select $1, d, '00:00', '23:59:59', 10
     from unnest(array[to_char(now() at time zone 'UTC', 'FMday'), to_char((now() + interval '1 day') at time zone 'UTC', 'FMday')]) d`,
    [user]);
  const [video] = await queueVideos(db, user, 1);
  t.equal((await db.q("select id from upload_scheduler.find_next_video_to_upload($1)", [user])).length, 1);
  const [started] = await db.q("select * from upload_scheduler.start_upload_attempt($1, '5 minutes', 'host:1')", [video]);
  return { user, video, started };
}

t.test("an upload started now survives committed ticks at an earlier and a later p_now", async (t) => {
  const db = await testDatabase(t);
  const { video, started } = await uploadingNow(t, db);
  t.equal(started.status, "uploading");
  for (const when of ["now() - interval '1 day'", "now() + interval '1 day'"]) {
    const [tick] = await db.q(`select * from upload_scheduler.run_tick(p_now => ${when})`);
    t.equal(tick.interrupted, 0, `a tick at ${when} fails nothing`);
    t.same(await db.q("select status, attempts, finished_at, worker from videos where id = $1", [video]),
      [{ status: "uploading", attempts: 1, finished_at: null, worker: "host:1" }], "still uploading, its first attempt");
    t.same(await db.q("select attempt, outcome from upload_attempts where video_id = $1", [video]), [{ attempt: 1, outcome: null }]);
  }
  t.same(await countersDrift(db), []);
});

t.test("a failure stamped in 2199 is retried by the next real tick, and claimed again", async (t) => {
  const db = await testDatabase(t);
  const { video } = await uploadingNow(t, db);
  const [failed] = await db.q("select * from upload_scheduler.finish_upload($1, false, 'network down', $2)", [video, "2199-06-01 00:00Z"]);
  t.equal(failed.status, "failed");
  const [tick] = await db.q("select * from upload_scheduler.run_tick()");
  t.equal(tick.retried, 1, "the next real tick retries it");
  t.same(tick.claimed.map((c: any) => c.video_id), [video], "and claims it again, into today's open slot");
  t.same(await db.q("select status, attempts, last_outcome from videos where id = $1", [video]),
    [{ status: "pending", attempts: 1, last_outcome: "failed" }]);
  t.same(await countersDrift(db), []);
});

t.test("run_tick and fail_interrupted_uploads refuse p_interrupted_after under 5 seconds (UPARG)", async (t) => {
  const db = await testDatabase(t);
  const { video } = await uploadingNow(t, db);
  const before = await snapshot(db);
  await rejects(t, db.q("select * from upload_scheduler.run_tick(p_interrupted_after => '1 microsecond')"), "UPARG", /p_interrupted_after .* is shorter than/);
  await rejects(t, db.q("select * from upload_scheduler.run_tick(p_interrupted_after => '4 seconds')"), "UPARG", /shorter than/);
  await rejects(t, db.q("select upload_scheduler.fail_interrupted_uploads('1 microsecond')"), "UPARG", /p_older_than/);
  t.equal(await snapshot(db), before, "nothing changed");
  t.same(await db.q("select status from videos where id = $1", [video]), [{ status: "uploading" }], "the upload goes on");
  t.equal((await db.q("select interrupted from upload_scheduler.run_tick(p_interrupted_after => '10 minutes')"))[0].interrupted, 0,
    "a sensible interval is accepted (and the upload, started now, is not that old)");
});

t.test("on a day whose midnight happens twice (America/Havana, 1 Nov 2026) the tick claims at the first 00:00, as preview_tick says", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db, "America/Havana");
  await addSlot(db, user, { day: "sunday", start: "00:00:00", end: "00:59:59", max: 1 });
  const [video] = await queueVideos(db, user, 1, "2026-10-01T00:00:00Z");
  const local = async (at: string) =>
    (await db.q("select local_timestamp::text as l from upload_scheduler.current_time_info('America/Havana', $1)", [at]))[0].l;
  t.equal(await local("2026-11-01 03:30Z"), "2026-10-31 23:30:00");
  t.equal(await local("2026-11-01 04:00Z"), "2026-11-01 00:00:00", "04:00 UTC is the first midnight");
  t.equal(await local("2026-11-01 05:00Z"), "2026-11-01 00:00:00", "05:00 UTC is the second");

  const [before] = await db.q("select * from upload_scheduler.run_tick(p_now => $1)", ["2026-11-01 03:30Z"]);
  t.same(before.claimed, [], "nothing is open at 23:30 on Saturday (the tick sets the user's due bound)");
  t.same(await db.q("select user_id, would_claim from upload_scheduler.preview_tick($1)", ["2026-11-01 04:00Z"]),
    [{ user_id: user, would_claim: [video] }], "preview_tick at the first midnight would claim it");
  const [tick] = await db.q("select * from upload_scheduler.run_tick(p_now => $1)", ["2026-11-01 04:00Z"]);
  t.same(tick.claimed.map((c: any) => c.video_id), [video], "and the tick at the first midnight claims it");
  t.same(await db.q("select status, slot_date::text from videos where id = $1", [video]), [{ status: "pending", slot_date: "2026-11-01" }]);
});

t.test("when the clocks go back (Berlin, 25 Oct 2026) a slot that closed an hour ago opens again, and the tick claims in it as the rule says", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db, "Europe/Berlin");
  await addSlot(db, user, { day: "sunday", start: "02:00:00", end: "02:29:59", max: 2 });
  await addSlot(db, user, { day: "sunday", start: "09:00:00", end: "09:59:59", max: 1 });
  const [first, second] = await queueVideos(db, user, 2, "2026-10-01T00:00:00Z");
  // The tick's claim alone (run_tick would also put claims pending for 30 minutes back).
  const tick = async (at: string) => (await db.q("select id from upload_scheduler.claim_due_videos($1)", [at])).map((c: any) => c.id);
  // 02:00 CEST is 00:00 UTC; at 01:00 UTC the clock shows 02:00 again (CET).
  t.same(await tick("2026-10-25 00:00Z"), [first, second], "02:00 CEST: the slot's two places");
  // Give one back: fail the second after it starts, and retry it, so one place is free.
  await db.q("select upload_scheduler.start_upload($1, '2026-10-25 00:01Z')", [second]);
  await db.q("select upload_scheduler.finish_upload($1, false, 'flaky', '2026-10-25 00:02Z')", [second]);
  await db.q("select upload_scheduler.retry_video($1)", [second]);
  t.same(await tick("2026-10-25 00:31Z"), [], "02:31 CEST: the slot has closed");
  const [{ due_at }] = await db.q("select due_at from upload_scheduler.user_due where user_id = $1", [user]);
  t.ok(due_at <= new Date("2026-10-25T01:00:00Z"), `the user is due again by 02:00 CET at the latest (${due_at.toISOString()}), not at 09:00`);
  t.same(await db.q("select would_claim from upload_scheduler.preview_tick('2026-10-25 01:00Z') where user_id = $1", [user]),
    [{ would_claim: [second] }], "preview_tick at 02:00 CET would claim the retried video");
  t.same(await tick("2026-10-25 01:00Z"), [second], "and the tick claims it, in the slot's second hour");
});

t.test("a paced slot that opens while a limit is full is claimed in as soon as the limit frees (its due bound is not the slot's end)", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db, "UTC");
  await addSlot(db, user, { day: "monday", start: "08:00:00", end: "08:59:59", max: 1 });
  const paced = await addSlot(db, user, { day: "monday", start: "09:30:00", end: "11:59:59", max: 3 });
  await db.q("update upload_schedules set min_interval = '27 minutes' where id = $1", [paced]);
  await db.q("insert into upload_limits (user_id, max_uploads, per) values ($1, 1, '2 hours 5 minutes')", [user]);
  const [first, second] = await queueVideos(db, user, 2, "2026-10-01T00:00:00Z");
  // The tick's claim alone (run_tick would also put claims pending for 30 minutes back).
  const tick = async (at: string) => (await db.q("select id from upload_scheduler.claim_due_videos($1)", [at])).map((c: any) => c.id);
  t.same(await tick("2026-11-30 08:14Z"), [first], "08:14: one claim; the limit is full until 10:19");
  t.same(await tick("2026-11-30 09:32Z"), [], "09:32: the paced slot is open, nothing claimed in it yet, the limit full");
  const [{ due_at }] = await db.q("select due_at from upload_scheduler.user_due where user_id = $1", [user]);
  t.ok(due_at <= new Date("2026-11-30T10:19:00Z"), `due again when the limit frees (${due_at.toISOString()}), not at the slot's end`);
  t.same(await tick("2026-11-30 10:19Z"), [second], "10:19: claimed");
});

t.test("deleting a user with slots, exceptions and videos in every state works and leaves no places, marks or due row", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const other = await addUser(db);
  const morning = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 5, name: "morning" });
  await addSlot(db, user, { day: "monday", start: "12:00", end: "17:59:59", max: 1, name: "afternoon" });
  const otherSlot = await addSlot(db, other, { day: "monday", start: "09:00", end: "11:59:59", max: 1 });
  await db.q(`insert into upload_schedule_exceptions (user_id, local_date, slot_id, max_uploads, note)
              values ($1, '2026-12-07', $2, 2, 'short morning'), ($1, '2026-12-14', null, 0, 'holiday')`, [user, morning]);
  const videos = await queueVideos(db, user, 7);
  await queueVideos(db, other, 1);
  t.equal((await db.q("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).length, 6, "five of the user's, one of the other's");
  for (const id of videos.slice(0, 4)) await db.q("select upload_scheduler.start_upload_attempt($1, '5 minutes', 'host:1', $2)", [id, AT("10:01")]);
  await db.q("select upload_scheduler.finish_upload_attempt($1, 1, 'success', null, $2)", [videos[0], AT("10:02")]);
  await db.q("select upload_scheduler.finish_upload_attempt($1, 1, 'failed', 'nope', $2)", [videos[1], AT("10:02")]);
  await db.q("select upload_scheduler.finish_upload_attempt($1, 1, 'failed', 'nope', $2)", [videos[2], AT("10:02")]);
  await db.q("select upload_scheduler.retry_video($1)", [videos[2]]);
  await db.q("delete from videos where id = $1", [videos[5]]);
  t.ok((await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("12:30")])).length, "a claim in the other slot");
  t.same((await db.q("select distinct status from videos where user_id = $1 order by 1", [user])).map((r) => r.status),
    ["failed", "initiate", "pending", "success", "uploading"], "videos in every state");
  t.equal((await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [morning, AT("10:30")]))[0].n, 3,
    "the morning counts three uses (uploading, uploaded, pending)");
  const othersUse = async () => (await db.q("select upload_scheduler.upload_count_for_slot($1, $2) as n", [otherSlot, AT("10:30")]))[0].n;
  t.equal(await othersUse(), 1, "the other user's slot counts its claim");

  t.equal(await outcome(db.q("delete from users where id = $1", [user])), "ok", "the user is deleted");
  const left = await db.q(
    `select (select count(*) from upload_scheduler.places where user_id = $1)::int as places,
            (select count(*) from upload_scheduler.due_marks where user_id = $1)::int as marks,
            (select count(*) from upload_scheduler.user_due where user_id = $1)::int as due,
            (select count(*) from upload_schedules where user_id = $1)::int as slots,
            (select count(*) from upload_schedule_exceptions where user_id = $1)::int as exceptions,
            (select count(*) from videos where user_id = $1)::int as videos,
            (select count(*) from upload_attempts where user_id = $1)::int as attempts`, [user]);
  t.same(left, [{ places: 0, marks: 0, due: 0, slots: 0, exceptions: 0, videos: 0, attempts: 0 }], "nothing of the user is left");
  t.equal(await othersUse(), 1, "the other user's use stands");
  t.equal(await outcome(db.q("select * from upload_scheduler.run_tick(p_now => $1)", [AT("10:30")])), "ok", "and the next tick runs");
  t.same(await countersDrift(db), []);
});

t.test("a tenant cannot insert with an explicit id: another tenant's id and an unused one are refused alike (42501)", async (t) => {
  const db = await testDatabase(t);
  const a = await addUser(db);
  const b = await addUser(db);
  const slotB = await addSlot(db, b, { day: "monday", start: "09:00", end: "11:59:59" });
  const [videoB] = await queueVideos(db, b, 1);
  const [{ id: exceptionB }] = await db.q(
    "insert into upload_schedule_exceptions (user_id, local_date, max_uploads) values ($1, '2026-12-25', 0) returning id", [b]);
  const app = await loginAs(t, db, "upload_scheduler_app");
  await app.q("select set_config('upload_scheduler.user_id', $1, false)", [a]);
  const before = await snapshot(db);

  const probes: Array<[string, string, unknown[]]> = [
    ["videos", "insert into videos (id, user_id, title) values ($1, $2, 'probe')", [a]],
    ["upload_schedules", "insert into upload_schedules (id, user_id, day, start_time, end_time) values ($1, $2, 'friday', '09:00', '10:00')", [a]],
    ["upload_schedule_exceptions", "insert into upload_schedule_exceptions (id, user_id, local_date, max_uploads) values ($1, $2, '2026-12-24', 0)", [a]],
    ["users", "insert into users (id) values ($1)", []],
  ];
  const taken: Record<string, string> = { videos: videoB!, upload_schedules: slotB, upload_schedule_exceptions: exceptionB, users: b };
  for (const [table, sql, rest] of probes) {
    const used = await app.q(sql, [taken[table], ...rest]).then(() => ({ code: "ok", message: "" }), (e) => e);
    const unused = await app.q(sql, [randomUUID(), ...rest]).then(() => ({ code: "ok", message: "" }), (e) => e);
    t.equal(used.code, "42501", `${table}, another tenant's id: ${used.message}`);
    t.equal(unused.code, "42501", `${table}, an unused id: ${unused.message}`);
    t.equal(used.message, unused.message, `${table}: the same answer either way`);
  }
  t.equal(await snapshot(db), before, "nothing changed");
});

t.test("nonsense is refused with a UP error and a hint, and changes nothing", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 2 });
  const [video] = await queueVideos(db, user, 2);
  const [claimed] = await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, AT("10:00")]);
  t.equal(claimed.id, video);

  const refused = async (name: string, sql: string, values: unknown[], code: string, message?: RegExp) => {
    t.test(name, async (t) => {
      const before = await snapshot(db);
      await rejects(t, db.q(sql, values), code, message);
      t.equal(await snapshot(db), before, "nothing changed");
    });
  };
  await refused("an exception for a slot on a date that is not its weekday",
    "insert into upload_schedule_exceptions (user_id, local_date, slot_id, max_uploads) values ($1, '2026-12-01', $2, 0)",
    [user, slot], "UPEXC", /it is a tuesday/);
  await refused("an exception in the year 999",
    "insert into upload_schedule_exceptions (user_id, local_date, max_uploads) values ($1, '0999-11-30', 0)", [user], "UPARG", /0999-11-30/);
  await refused("a claim in the year 999",
    "select * from upload_scheduler.find_next_video_to_upload($1, '0999-11-30 10:00Z')", [user], "UPARG", /p_now/);
  await refused("a video queued in the year 999",
    "insert into videos (user_id, title, created_at) values ($1, 'old', '0999-11-30 10:00Z')", [user], "UPROW", /1900 to 2199/);
  await refused("a pause until 1066, by plain UPDATE",
    "update users set uploads_paused_until = '1066-10-14 12:00Z' where id = $1", [user], "UPARG", /1066/);
  await refused("a pause until 1066, by pause_uploads",
    "select upload_scheduler.pause_uploads($1, '1066-10-14 12:00Z')", [user], "UPARG", /1066/);
  await refused("a 50 MB title, inserted",
    `insert into videos (user_id, title) values ($1, ${FIFTY_MB})`, [user], "UPLEN", /52428800 characters/);
  await refused("a 50 MB worker name, through start_upload_attempt",
    `select * from upload_scheduler.start_upload_attempt($1, '5 minutes', ${FIFTY_MB}, $2)`, [claimed.id, AT("10:01")], "UPLEN",
    /52428800 characters/);
});

t.test("a Pacific/Kiritimati claim whose local date would be 2200 is refused with UPARG naming p_now", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db, "Pacific/Kiritimati");
  // 2199-12-31 12:00 UTC is 02:00 on Wednesday 1 January 2200 there.
  await addSlot(db, user, { day: "wednesday", start: "00:00", end: "23:59:59", max: 1 });
  await queueVideos(db, user, 1);
  const before = await snapshot(db);
  await rejects(t, db.q("select * from upload_scheduler.find_next_video_to_upload($1, $2)", [user, "2199-12-31 12:00Z"]), "UPARG", /p_now/);
  await rejects(t, db.q("select * from upload_scheduler.claim_due_videos($1)", ["2199-12-31 12:00Z"]), "UPARG", /p_now/);
  await rejects(t, db.q("select * from upload_scheduler.run_tick(p_now => $1)", ["2199-12-31 00:00Z"]), "UPARG", /p_now/);
  t.equal(await snapshot(db), before, "nothing changed");
  t.same(await db.q("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, "2199-12-30 23:59:59Z"]), [],
    "the last instant accepted is answered (no slot open then)");
});

t.test("the owner's plain UPDATE of status is refused with UPMOV, whose hint names the functions to call", async (t) => {
  const db = await testDatabase(t);
  const user = await addUser(db);
  await addSlot(db, user, { day: "monday", start: "09:00", end: "11:59:59", max: 2 });
  const [uploading, pending] = await queueVideos(db, user, 3);
  t.equal((await db.q("select id from upload_scheduler.claim_due_videos($1)", [AT("10:00")])).length, 2);
  await db.q("select upload_scheduler.start_upload_attempt($1, '5 minutes', 'host:1', $2)", [uploading, AT("10:01")]);
  const before = await snapshot(db);
  for (const [sql, values] of [
    ["update videos set status = 'success', finished_at = $2 where id = $1", [uploading, AT("10:05")]],
    ["update videos set status = 'failed', finished_at = $2, last_error = 'by hand' where id = $1", [uploading, AT("10:05")]],
    ["update videos set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null where id = $1", [pending]],
  ] as const) {
    const error = await rejects(t, db.q(sql, [...values]), "UPMOV", /A plain UPDATE cannot write status/);
    t.match(error?.hint, /find_next_video_to_upload/, "the hint names the claim");
    t.match(error?.hint, /start_upload/, "the start");
    t.match(error?.hint, /finish_upload/, "and the finish");
  }
  t.equal(await snapshot(db), before, "nothing changed");
  t.same(await countersDrift(db), []);
});

t.test("errors map to kinds: every code has a kind, and every UP code the sql/ files raise is a known code", async (t) => {
  const db = await testDatabase(t);
  const codes = await db.q("select code, kind from upload_scheduler.error_codes order by code");
  t.ok(codes.length >= 20, `${codes.length} codes`);
  t.same(codes.filter((c) => !["input", "conflict", "tenant", "bug", "database"].includes(c.kind)), [], "each has a kind");
  const known = new Set(codes.map((c) => c.code as string));

  const sqlDir = new URL("../sql/", import.meta.url);
  const raised = new Map<string, string>();
  let direct = 0;
  for (const file of (readdirSync(sqlDir, { recursive: true }) as string[]).filter((f) => f.endsWith(".sql")).sort()) {
    const text = readFileSync(new URL(file, sqlDir), "utf8");
    for (const m of text.matchAll(/errcode\s*=\s*'(UP[0-9A-Z]{3})'/g)) {
      direct++;
      raised.set(m[1]!, file);
    }
    // Codes chosen in an expression (errcode = case … then 'UPOVL' …) or caught (sqlstate 'UPDAY').
    for (const m of text.matchAll(/'(UP[0-9A-Z]{3})'/g)) if (!raised.has(m[1]!)) raised.set(m[1]!, file);
  }
  t.ok(direct >= 15, `${direct} raise statements with a UP code in sql/, ${raised.size} codes named there`);
  for (const { errcode, name } of await db.q("select errcode, name from upload_scheduler.rule_messages")) {
    if (!raised.has(errcode)) raised.set(errcode, `rule_messages: ${name}`);
  }
  t.same([...raised].filter(([code]) => !known.has(code)).map(([code, where]) => `${code} (${where})`), [],
    "every UP code raised is in upload_scheduler.error_codes");
});
