// What a start locks: with nothing changed, no table of the scheduler beyond ACCESS SHARE; what
// it applies when something changed; and the start-up lock, which only the schema's owner can take.
import t from "tap";
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Test } from "tap";
import { createRequire } from "node:module";
import { applyChanges, listedSqlFiles, readSchemaSources, withStartupLock } from "../src/db/apply.js";
import { migrateDatabase, prepareDatabase, type SchemaChanges } from "../src/db/migrate.js";
import { testDatabase, type TestDatabase } from "./fixtures/db.js";
import { databaseUrl, withAdmin } from "./fixtures/template.js";
import { startWorker, waitFor } from "./fixtures/worker.js";

const gmHash = createRequire(import.meta.url)("graphile-migrate/dist/hash.js") as { calculateHash(body: string, previous: string | null): string };

const HOT = "public.videos, public.users, public.upload_schedules";

/** A session of its own that holds `lock` in an open transaction until the test ends. */
async function holding(t: Test, db: TestDatabase, lock: string, url = db.url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.teardown(() => client.end());
  await client.query("begin");
  await client.query(lock);
  const { rows: [{ pid }] } = await client.query("select pg_backend_pid() as pid");
  return { client, pid: pid as number };
}

/** Resolves when some session of the database waits for a lock that `pid` holds. */
function blockedBy(db: TestDatabase, pid: number) {
  return waitFor(`a session waiting for pid ${pid}'s locks`, async () =>
    (await db.q("select pid, query from pg_stat_activity where $1 = any(pg_blocking_pids(pid))", [pid]))[0], 60_000);
}

async function prepare(db: TestDatabase, url = db.url): Promise<SchemaChanges> {
  let changes: SchemaChanges | undefined;
  await prepareDatabase(url, undefined, { changed: (c) => (changes = c) });
  return changes!;
}

t.test("a start with nothing changed needs no lock beyond ACCESS SHARE on videos, users, upload_schedules (nor on the queue's tables)", async (t) => {
  const db = await testDatabase(t);
  // EXCLUSIVE conflicts with every lock but ACCESS SHARE: a start that needed a stronger lock on
  // one of them (a trigger or policy made again, a row written) would wait for this session.
  const holder = await holding(t, db, `lock table ${HOT} in exclusive mode`);
  // And Graphile Worker's tables: its migrations, when current, and the grants on the queue only read.
  const queue = (await db.q("select string_agg(oid::regclass::text, ', ') as tables from pg_class where relnamespace = 'graphile_worker'::regnamespace and relkind = 'r'"))[0].tables;
  const queueHolder = await holding(t, db, `lock table ${queue} in exclusive mode`);
  const outcome = await Promise.race([
    prepare(db).then((changes) => ({ done: changes })),
    blockedBy(db, holder.pid).then((blocked) => ({ blocked })),
    blockedBy(db, queueHolder.pid).then((blocked) => ({ blocked })),
  ]);
  t.same(outcome, { done: { migrations: [], sqlFiles: [], privileges: 0, tries: 1 } }, "prepareDatabase (what npm start does first) completes, changing nothing");
  // The worker itself writes to the queue as it starts (its crontab).
  await queueHolder.client.query("rollback");

  // The whole start, Graphile Worker's own migrations and crontab included, up to running.
  const worker = startWorker(t, db);
  const started = await Promise.race([
    waitFor("the worker to start", async () => worker.output().includes('"worker started"') && "started", 60_000),
    worker.exited.then((code) => `exited ${code}`),
    blockedBy(db, holder.pid).then((blocked) => `blocked: ${blocked.query}`),
  ]);
  t.equal(started, "started", "npm start runs while another session holds those tables in EXCLUSIVE mode");
  t.match(worker.lines().find((l) => /up to date|applied/.test(l.msg)), { msg: "database is up to date: nothing applied" });
  // Let go first: a tick the crontab starts meanwhile waits for these tables, and stopping waits for it.
  await holder.client.query("rollback");
  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0);
});

t.test("a changed file is applied with every file after it; a pending migration applies every file", async (t) => {
  const db = await testDatabase(t);
  const files = listedSqlFiles().map((f) => f.file);
  const policies = "select p.oid, p.polname, p.polrelid::regclass::text as rel from pg_policy p order by 1";
  const before = await db.q(policies);

  const k = Math.floor(files.length / 2);
  await db.q("update upload_scheduler_deploy.applied_sql_files set sha256 = 'edited' where position = $1", [k]);
  t.same(await prepare(db), { migrations: [], sqlFiles: files.slice(k), privileges: 0, tries: 1 }, `file ${k} changed: it and the ${files.length - k - 1} after it`);
  t.same(await prepare(db), { migrations: [], sqlFiles: [], privileges: 0, tries: 1 }, "then nothing");

  await db.q("update upload_scheduler_deploy.applied_sql_files set file = 'sql/renamed.sql' where position = 0");
  t.same((await prepare(db)).sqlFiles, files, "a file in another place (renamed, moved, listed in another order) counts as changed");

  // A migration committed after the database's last one (a no-op, made here with its real hash
  // chain): the applier runs it, then every file, since a migration may drop what sql/ defines.
  const sources = await readSchemaSources(db.url);
  const previous = sources.committed.at(-1)!;
  const body = "-- a later migration\nselect 1;\n";
  const later = { realFilename: "999999-later.sql", filename: "999999.sql", previousHash: previous.hash, allowInvalidHash: false, body,
    hash: gmHash.calculateHash(body, previous.hash) };
  const changes = await withStartupLock(db.url, (client) => applyChanges(client, { ...sources, committed: [...sources.committed, later] }));
  t.same(changes.migrations, ["999999-later.sql"], "the pending migration is applied");
  t.same(changes.sqlFiles, files, "and every file after it: a migration may drop what sql/ defines");

  t.same(await db.q(policies), before, "re-applying sql/ made no policy again (same oids): ensure_policy found each one as it should be");
  t.same(await migrateDatabase(db.url), { migrations: [], sqlFiles: [], privileges: 0, tries: 1 }, "npm run db:migrate then finds nothing to do");

  // Grants depend on more than the files (a role created since by scripts/create-roles.sql, say):
  // each run compares them with the catalog, and mends only what differs.
  await db.q("revoke select on public.videos from upload_scheduler_worker");
  await db.q("grant update (status) on public.videos to upload_scheduler_app");
  await db.q("grant execute on function upload_scheduler.run_tick(interval, interval, integer, interval, integer, timestamptz) to public");
  await db.q("drop policy app_acts_for_its_user on public.users");
  await db.q("drop policy upload_scheduler_worker_runs_jobs on graphile_worker._private_jobs");
  t.same(await prepare(db), { migrations: [], sqlFiles: [], privileges: 4, tries: 1 }, "a start mends the four that differ (and the queue's policy)");
  const policiesNow = await db.q(policies);
  t.equal(policiesNow.length, before.length, "every policy is back");
  t.same(policiesNow.filter((p) => !before.some((b) => b.oid === p.oid)).map((p) => `${p.rel}: ${p.polname}`).sort(),
    ["graphile_worker._private_jobs: upload_scheduler_worker_runs_jobs", "users: app_acts_for_its_user"], "and only the two dropped were made again");
  t.same(await db.q(`select has_table_privilege('upload_scheduler_worker', 'public.videos', 'select') as worker_reads,
                            has_column_privilege('upload_scheduler_app', 'public.videos', 'status', 'update') as app_sets_status,
                            has_function_privilege('public', 'upload_scheduler.run_tick(interval, interval, integer, interval, integer, timestamptz)', 'execute') as anyone_ticks`),
    [{ worker_reads: true, app_sets_status: false, anyone_ticks: false }]);
  t.same(await migrateDatabase(db.url), { migrations: [], sqlFiles: [], privileges: 0, tries: 1 }, "then nothing differs");
});

t.test("a change waits for busy tables only briefly, gives every lock back between tries, and gives up saying where", async (t) => {
  const db = await testDatabase(t);
  // What a tick that writes holds: re-creating a trigger on any of these must wait for it.
  const holder = await holding(t, db, `lock table ${HOT} in row exclusive mode`);
  await db.q("update upload_scheduler_deploy.applied_sql_files set sha256 = 'edited' where position = 0");
  const sources = await readSchemaSources(db.url);
  let tryingSince = 0;
  const attempt = withStartupLock(db.url, (client) => {
    tryingSince = Date.now();
    return applyChanges(client, sources, { giveUpAfterMs: 1500 });
  });
  // Between tries the holder is not waited for: the tick it stands for goes on writing.
  const writer = new pg.Client({ connectionString: db.url });
  await writer.connect();
  t.teardown(() => writer.end());
  await waitFor("the start to have begun trying", async () => tryingSince > 0);
  await writer.query("insert into users (time_zone) values ('UTC')");
  await t.rejects(attempt, /could not apply the schema's changes: the tables they lock stayed busy for 2 s \(\d+ tries, each waiting at most 200 ms for a lock; the last in sql\/\S+: canceling statement due to lock timeout\)/);
  t.same(await db.q("select sha256 from upload_scheduler_deploy.applied_sql_files where position = 0"), [{ sha256: "edited" }], "nothing of it was kept");
  await holder.client.query("rollback");
  t.equal((await prepare(db)).sqlFiles.length, listedSqlFiles().length, "once the tables are free, the next start applies it");
});

t.test("only the schema's owner can take the start-up lock; the old advisory keys stall nothing", async (t) => {
  const db = await testDatabase(t);
  // The most a role other than the owner can be given: both of the scheduler's roles.
  const name = `upsched_intruder_${randomBytes(4).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create role ${name} login password '${name}' in role upload_scheduler_worker, upload_scheduler_app`));
  t.teardown(() => withAdmin(async (admin) => {
    await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1", [name]);
    await admin.query(`drop role if exists ${name}`);
  }));
  const url = Object.assign(new URL(db.url), { username: name, password: name }).toString();
  const session = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    t.teardown(() => client.end());
    const { rows: [{ pid }] } = await client.query("select pg_backend_pid() as pid");
    return { client, pid: pid as number };
  };

  // The keys the start used to wait on: pg_advisory_lock is executable by PUBLIC.
  const keys = await session();
  await keys.client.query("select pg_advisory_lock(hashtext('upload_scheduler: migrate')), pg_advisory_lock(4727445306447283)");
  const intruders = [keys.pid];
  for (const attempt of [
    "lock table upload_scheduler_deploy.startup_lock in access share mode",
    "select * from upload_scheduler_deploy.startup_lock for update",
    "delete from upload_scheduler_deploy.startup_lock",
    // With USAGE on a schema, this fails only after locking the table ACCESS EXCLUSIVE, and the
    // lock stays until the transaction ends: why the lock lives in a schema no other role may use.
    "create rule r as on insert to upload_scheduler_deploy.startup_lock do instead nothing",
  ]) {
    // Each in a transaction left open, aborted, as a hostile session would leave it.
    const { client, pid } = await session();
    intruders.push(pid);
    await client.query("begin");
    await t.rejects(client.query(attempt), { code: "42501", message: /permission denied for schema upload_scheduler_deploy/ }, attempt);
    const held = await db.q("select mode from pg_locks where pid = $1 and relation = 'upload_scheduler_deploy.startup_lock'::regclass", [pid]);
    t.same(held, [], "and holds no lock on it");
  }
  await db.q("update upload_scheduler_deploy.applied_sql_files set sha256 = 'edited' where position = 0");
  const outcome = await Promise.race([
    prepare(db).then((c) => `applied ${c.sqlFiles.length}`),
    ...intruders.map((pid) => blockedBy(db, pid).then(() => `blocked by ${pid}`)),
  ]);
  t.equal(outcome, `applied ${listedSqlFiles().length}`, "the owner's start applies what changed meanwhile");

  t.equal(await prepareDatabase(url, undefined), "checked", "a start as that role only checks the database");
  await t.rejects(migrateDatabase(url), /role upsched_intruder_\w+ may not take the start-up lock: schema upload_scheduler_deploy belongs to postgres, and only its owner migrates/,
    "and migrating as that role says whose the lock is");
});

t.test("on a new database, starts racing create the start-up lock, and one of them migrates while the others wait", async (t) => {
  const name = `upsched_new_${randomBytes(5).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create database ${name}`));
  t.teardown(() => withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`)));
  const url = databaseUrl(name);
  const changes: SchemaChanges[] = [];
  const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => prepareDatabase(url, undefined, { changed: (c) => changes.push(c) })));
  t.same(outcomes.filter((o) => o.status === "rejected"), [], "every start succeeds");
  const applying = changes.filter((c) => c.sqlFiles.length > 0);
  t.equal(applying.length, 1, "one applied the migrations and sql/");
  t.equal(applying[0]?.sqlFiles.length, listedSqlFiles().length);
  t.same(changes.filter((c) => c.sqlFiles.length === 0).map((c) => c.migrations.length + c.privileges), [0, 0, 0], "the others, after it, found nothing to do");
});
