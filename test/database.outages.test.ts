// The runner's pool waits for the database instead of failing, on a throw-away cluster of its own.
import t from "tap";
import pg from "pg";
import { DatabaseGate, WaitingPool, waitForDatabase } from "../src/db/pool.js";
import { jsonLogger } from "../src/log.js";
import { TEST_APPLICATION_NAME, throwawayCluster } from "./fixtures/cluster.js";

function capturedLogger() {
  const lines: any[] = [];
  return { logger: jsonLogger({}, (line) => lines.push(JSON.parse(line))), lines, events: () => lines.map((l) => l.event) };
}

const settled = (promise: Promise<unknown>) => {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  return () => done;
};

t.test("the gate: callers wait while probes fail, each attempt logged once, backoff doubling to its cap", async (t) => {
  const log = capturedLogger();
  let failures = 3;
  const gate = new DatabaseGate({
    logger: log.logger,
    minDelayMs: 20,
    maxDelayMs: 50,
    probe: async () => {
      if (failures-- > 0) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    },
  });
  await gate.ready();
  t.ok(gate.reachable);
  gate.lost(new Error("Connection terminated unexpectedly"));
  gate.lost(new Error("a second error in the same outage is not logged again"));
  t.notOk(gate.reachable);
  await gate.ready();
  t.ok(gate.reachable, "reachable once a probe connects");
  t.same(log.events(), [
    "database_connection_lost",
    "database_unreachable",
    "database_unreachable",
    "database_unreachable",
    "database_reachable",
  ]);
  t.same(log.lines.filter((l) => l.event === "database_unreachable").map((l) => [l.attempt, l.retry_in_ms]), [[1, 20], [2, 40], [3, 50]]);
  t.match(log.lines.at(-1), { attempts: 4, down_ms: Number });

  failures = Infinity;
  gate.lost(new Error("down again"));
  const waiting = gate.ready();
  gate.close(new Error("shutting down"));
  await t.rejects(waiting, /shutting down/, "close() releases the callers with its reason");
  await t.rejects(gate.ready(), /shutting down/);
});

t.test("on a real server", async (t) => {
  const cluster = await throwawayCluster(t);

  t.test("a query waits while the database is stopped and runs once it is back", async (t) => {
    const log = capturedLogger();
    const pool = new WaitingPool({ connectionString: cluster.url(), max: 3 }, log.logger, { minDelayMs: 50, maxDelayMs: 400 });
    t.teardown(() => pool.end());
    t.same((await pool.query("select 1 as one")).rows, [{ one: 1 }]);

    await cluster.stop();
    while (pool.gate.reachable) await new Promise((r) => setTimeout(r, 10));
    const query = pool.query("select 2 as two");
    const done = settled(query);
    await new Promise((r) => setTimeout(r, 1500));
    t.notOk(done(), "still waiting, neither failed nor answered");
    await cluster.start();
    t.same((await query).rows, [{ two: 2 }], "answered once the database is back");

    const unreachable = log.lines.filter((l) => l.event === "database_unreachable");
    t.ok(unreachable.length >= 1, `${unreachable.length} lines for a 1.5 s outage`);
    t.same(unreachable.map((l) => l.attempt), unreachable.map((_, i) => i + 1), "one per attempt, numbered");
    t.ok(unreachable.every((l, i) => l.retry_in_ms <= 400 && (i === 0 || l.retry_in_ms >= unreachable[i - 1].retry_in_ms)),
      "backing off, up to its limit");
    t.equal(log.events().filter((e) => e === "database_connection_lost").length, 1, "the loss is logged once");
    t.equal(log.events().filter((e) => e === "database_reachable").length, 1);
  });

  t.test("a job completion whose connection is cut mid-statement is sent again on a new connection", async (t) => {
    const log = capturedLogger();
    const pool = new WaitingPool({ connectionString: cluster.url(), max: 3 }, log.logger, { minDelayMs: 50, maxDelayMs: 400 });
    t.teardown(() => pool.end());
    const admin = new pg.Client({ connectionString: cluster.url(), application_name: TEST_APPLICATION_NAME });
    await admin.connect();
    t.teardown(() => admin.end());

    const cutDuring = async (name: string) => {
      const client = await pool.connect();
      const { rows: [{ pid }] } = await client.query("select pg_backend_pid() as pid");
      const statement = client.query({ name, text: "select pg_sleep(0.3) is null as slept, pg_backend_pid() as pid" });
      statement.catch(() => {}); // awaited below, after the cut
      await new Promise((r) => setTimeout(r, 100));
      await admin.query("select pg_terminate_backend($1)", [pid]);
      try {
        return { pid, result: await statement };
      } finally {
        client.release(true);
      }
    };

    const { pid, result } = await cutDuring("complete_job/graphile_worker");
    t.equal(result.rows[0].slept, false, "the statement ran to its end");
    t.not(result.rows[0].pid, pid, "on another connection");
    t.ok(log.events().includes("job_completion_retried"));

    await t.rejects(cutDuring("add_job/graphile_worker"), /terminating connection/, "any other statement fails as before: it may not be idempotent");
  });

  t.test("a runner's lookup of its task ids, cut mid-statement, is sent again: Graphile Worker would keep its failure for good", async (t) => {
    const log = capturedLogger();
    const pool = new WaitingPool({ connectionString: cluster.url(), max: 3 }, log.logger, { minDelayMs: 50, maxDelayMs: 400 });
    t.teardown(() => pool.end());
    const admin = new pg.Client({ connectionString: cluster.url(), application_name: TEST_APPLICATION_NAME });
    await admin.connect();
    t.teardown(() => admin.end());
    await admin.query('create schema if not exists "graphile_worker_lookup"; create table if not exists "graphile_worker_lookup"._private_tasks (id serial primary key, identifier text unique)');
    const client = await pool.connect();
    const { rows: [{ pid }] } = await client.query("select pg_backend_pid() as pid");
    await admin.query("select pg_terminate_backend($1)", [pid]);
    // The statement as Graphile Worker 0.17 sends it (taskIdentifiers.js), on the connection just cut.
    const result = await client.query({
      text: 'insert into "graphile_worker_lookup"._private_tasks as tasks (identifier) select unnest($1::text[]) on conflict do nothing',
      values: [["upload_video"]],
    });
    client.release(true);
    t.equal(result.rowCount, 1, "it ran, on another connection");
    t.ok(log.events().includes("job_completion_retried"), "and said so");
    t.same((await admin.query('select identifier from "graphile_worker_lookup"._private_tasks')).rows, [{ identifier: "upload_video" }]);
  });

  t.test("at start, the worker waits for a database that is not up yet; a wrong one fails at once", async (t) => {
    const log = capturedLogger();
    await waitForDatabase(cluster.url(), log.logger);
    t.same(log.lines, [], "up: nothing to say");
    await cluster.stop();
    const waiting = waitForDatabase(cluster.url(), log.logger);
    const done = settled(waiting);
    await new Promise((r) => setTimeout(r, 500));
    t.notOk(done(), "waiting");
    await cluster.start();
    await waiting;
    t.ok(log.events().includes("database_reachable"));
    await t.rejects(waitForDatabase(cluster.url("no_such_database"), log.logger), /database "no_such_database" does not exist/);
  });

  t.test("end() stops the waiting: a query waiting for a stopped database fails instead", async (t) => {
    const log = capturedLogger();
    const pool = new WaitingPool({ connectionString: cluster.url(), max: 3 }, log.logger, { minDelayMs: 50, maxDelayMs: 400 });
    await pool.query("select 1");
    await cluster.stop("immediate");
    t.teardown(() => cluster.start());
    // Its idle connection's end tells the pool the database is gone; from then on, queries wait.
    while (pool.gate.reachable) await new Promise((r) => setTimeout(r, 10));
    const query = pool.query("select 1");
    query.catch(() => {}); // awaited below
    await new Promise((r) => setTimeout(r, 300));
    await pool.end();
    await t.rejects(query, /Cannot use a pool after calling end/);
  });
});
