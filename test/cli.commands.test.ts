// The command line as a user types it (`pg-upload-scheduler …`, the package's bin, built): a
// fresh database diagnosed, migrated, ticked and reported healthy or not, with the exit codes
// scripts rely on.
import t, { type Test } from "tap";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { PROJECT_ROOT } from "../src/db/migrate.js";
import { databaseUrl, withAdmin } from "./fixtures/template.js";
import { CLI, freePort } from "./fixtures/worker.js";

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the CLI with exactly these settings (none inherited from the caller's environment). */
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  const { PATH, HOME } = process.env;
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: PATH ?? "", HOME: HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  child.stderr.on("data", (chunk) => (err += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out, err })));
}

/** An empty database (not cloned from the migrated template), dropped when the test ends. */
async function emptyDatabase(t: Test): Promise<{ url: string; pool: pg.Pool }> {
  const name = `upsched_cli_${randomBytes(6).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create database ${name}`));
  const pool = new pg.Pool({ connectionString: databaseUrl(name), max: 2 });
  pool.on("error", () => {});
  t.teardown(async () => {
    await pool.end();
    await withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
  });
  return { url: databaseUrl(name), pool };
}

/** The checks doctor printed, as [status, name]. */
const checks = (run: Run) => run.out.trim().split("\n").slice(0, -1).map((line) => [line.slice(0, 4).trim(), line.slice(6, line.indexOf(":"))]);

t.test("--help, version, and a command that does not exist", async (t) => {
  const help = await cli(["--help"], {});
  t.equal(help.code, 0);
  for (const command of ["start", "migrate", "tick", "status", "doctor"]) t.match(help.out, new RegExp(`^  ${command} `, "m"), `help names ${command}`);
  t.match(await cli(["status", "--help"], {}), { code: 0, out: /^Usage: pg-upload-scheduler <command>/m }, "--help after a command too");
  const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));
  t.match(await cli(["--version"], {}), { code: 0, out: `${version}\n` });
  t.match(await cli(["launch"], {}), { code: 2, err: /no command "launch": use start, migrate, tick, status or doctor/ });
  t.match(await cli(["doctor", "--json"], {}), { code: 2, err: /unexpected --json/ });
});

t.test("a fresh database: doctor, migrate, status, tick", async (t) => {
  const db = await emptyDatabase(t);
  const env = { DATABASE_URL: db.url, DATA_DIR: t.testdir({}) };

  const before = await cli(["doctor"], env);
  t.equal(before.code, 1, "doctor exits 1 when a check fails");
  t.same(checks(before), [
    ["ok", "connection"], ["ok", "settings"], ["ok", "roles"], ["FAIL", "migrations"], ["ok", "clock"], ["ok", "DATA_DIR"], ["ok", "plug-in"],
  ], "one line per check");
  t.match(before.out, /FAIL  migrations: \d+ migrations not applied .*run `pg-upload-scheduler migrate`/, "saying what to do");
  t.match(before.out, /1 check failed\.\n$/);
  t.match(await cli(["status"], env), { code: 1, out: /NOT healthy[\s\S]*the database is not migrated; run `pg-upload-scheduler migrate`/ });

  const migrated = await cli(["migrate"], env);
  t.match(migrated, { code: 0, out: /^Done: \d+ migrations/m }, migrated.err);
  const after = await cli(["doctor"], env);
  t.equal(after.code, 0, "doctor exits 0 when every check passes");
  t.same(checks(after).map(([status]) => status), Array(7).fill("ok"));
  t.match(after.out, /Every check passed\.\n$/);

  t.match(await cli(["status"], env), { code: 1, out: /^Upload scheduler: NOT healthy[\s\S]*no tick has run yet/ }, "no tick yet: not healthy");

  // A worker that ticked two hours ago and died mid-upload.
  const { rows: [user] } = await db.pool.query("insert into users (time_zone) values ('UTC') returning id");
  await db.pool.query(
    `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
     select $1, d, '00:00', '23:59:59', 5 from unnest(array['monday','tuesday','wednesday','thursday','friday','saturday','sunday']) d`,
    [user.id],
  );
  await db.pool.query("insert into videos (user_id, title, created_at) select $1, t, now() - interval '3 hours' from unnest(array['a', 'b']) t", [user.id]);
  await db.pool.query("select upload_scheduler.run_tick(p_now => now() - interval '2 hours')");
  await db.pool.query("select upload_scheduler.start_upload(id, now() - interval '2 hours') from videos where title = 'a'");

  const stale = await cli(["status"], env);
  t.equal(stale.code, 1);
  t.match(stale.out, /the last tick ran 2 h ago/, "the last tick too old");
  t.match(stale.out, /1 upload has run longer than INTERRUPTED_AFTER \(00:35:00\)/, "an upload overdue");
  t.match(stale.out, /^  uploading +1$/m, "then the figures");
  const json = JSON.parse((await cli(["status", "--json"], env)).out);
  t.match(json, { healthy: false, problems: [String, String], health: { uploading: 1, pending: 1, overdueUploads: 1 } });

  const ticked = await cli(["tick"], env);
  t.equal(ticked.code, 0);
  t.match(ticked.out, /^Tick done: claimed 1 video; reset 1 stale claim, sent 0 failed videos back to the queue, failed 1 interrupted upload\.$/m);
  t.match(ticked.out, new RegExp(`^  claimed video [0-9a-f-]{36} of user ${user.id} into slot [0-9a-f-]{36} on \\d{4}-\\d\\d-\\d\\d \\(attempt 1\\)$`, "m"));
  t.match(ticked.out, /a running worker \(pg-upload-scheduler start\) uploads them/);

  const healthy = await cli(["status"], env);
  t.match(healthy, { code: 0, out: /^Upload scheduler: healthy/ }, "a recent tick and nothing overdue: healthy");
  t.match(healthy.out, /^  last tick +\d+ s ago/m);
  t.match(JSON.parse((await cli(["tick", "--json"], env)).out), { claimed: [], interrupted: 0 }, "tick --json");
});

t.test("doctor names what is wrong on this host", async (t) => {
  const db = await emptyDatabase(t);
  const dir = t.testdir({ "a-file": "x" });
  const run = await cli(["doctor"], { DATABASE_URL: db.url, DATA_DIR: path.join(dir, "a-file"), MEDIA_PROCESS_MODULE: "/nowhere/plugin.mjs", UPLOAD_TIMEOUT: "soon" });
  t.equal(run.code, 1);
  t.match(run.out, /^FAIL  settings: UPLOAD_TIMEOUT="soon" is not a PostgreSQL interval/m);
  t.match(run.out, /^FAIL  DATA_DIR: DATA_DIR=.*a-file is not a writable folder/m);
  t.match(run.out, /^FAIL  plug-in: MEDIA_PROCESS_MODULE \/nowhere\/plugin.mjs could not be loaded/m);
});

t.test("without DATABASE_URL: the embedded PostgreSQL that start runs, and a clear line when it does not run", async (t) => {
  const env = { EMBEDDED_PG_PORT: String(await freePort()), DATA_DIR: t.testdir({}) };
  const status = await cli(["status"], env);
  t.equal(status.code, 1);
  t.match(status.out, /DATABASE_URL is unset, and no embedded PostgreSQL answers on 127\.0\.0\.1:\d+ .*Set DATABASE_URL, or start the scheduler first/);
  const doctor = await cli(["doctor"], env);
  t.equal(doctor.code, 1);
  t.same(checks(doctor), [
    ["FAIL", "connection"], ["ok", "settings"], ["skip", "roles"], ["skip", "migrations"], ["skip", "clock"], ["ok", "DATA_DIR"], ["ok", "plug-in"],
  ]);
  t.match(await cli(["tick"], env), { code: 1, err: /no embedded PostgreSQL answers/ });
  t.match(await cli(["migrate"], env), { code: 1, err: /no embedded PostgreSQL answers/ });
});

t.test("a password in DATABASE_URL is never printed", async (t) => {
  const run = await cli(["status"], { DATABASE_URL: `postgres://someone:s3cret@127.0.0.1:${await freePort()}/x` });
  t.equal(run.code, 1);
  t.notMatch(run.out + run.err, /s3cret/);
  t.match(run.out, /postgres:\/\/someone:\*\*\*@127\.0\.0\.1/);
});
