// The embedded default (DATABASE_URL unset) survives what the issue did to it: its PostgreSQL
// killed with kill -9, Ctrl-C in a terminal, the worker killed with kill -9, a start error, and
// (as root) a DATA_DIR the postgres user cannot reach.
import t from "tap";
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import path from "node:path";
import pg from "pg";
import { embeddedBinaries, postgresOsUser, reachableBinaries } from "../src/db/postgres-binaries.js";
import { isProcessRunning } from "../src/processes.js";
import { freePort } from "./fixtures/cluster.js";
import { SCRIPTED_MEDIA, mediaLog, startWorker, waitFor, type WorkerProcess } from "./fixtures/worker.js";

const postmasterPid = (dataDir: string) => {
  try {
    return Number(readFileSync(path.join(dataDir, "pg", "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return 0;
  }
};
const processGroup = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2]);

/** A DATA_DIR the postgres user can reach, removed (and its server stopped) when the test ends, pass or fail. */
function dataDirFor(t: any): string {
  const dir = mkdtempSync(path.join(tmpdir(), "upsched-embedded-"));
  chmodSync(dir, 0o755);
  const stopServer = () => {
    const pid = postmasterPid(dir);
    if (pid > 0 && isProcessRunning(pid)) process.kill(pid, "SIGKILL");
  };
  process.once("exit", stopServer);
  t.teardown(async () => {
    process.off("exit", stopServer);
    stopServer();
    await waitFor("the server to be gone", async () => !isProcessRunning(postmasterPid(dir)) || postmasterPid(dir) === 0, 10_000).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

async function started(w: WorkerProcess): Promise<string> {
  await waitFor("the worker to start", async () => {
    if (w.child.exitCode !== null) throw new Error(`the worker exited ${w.child.exitCode}:\n${w.output()}`);
    return w.events("worker_started").length > 0 && /^postgres:\/\//m.test(w.output());
  }, 60_000);
  return w.output().split("\n").find((l) => l.startsWith("postgres://"))!;
}

async function tick(url: string, titles: string[]) {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rows: [user] } = await client.query("insert into users (time_zone) values ('UTC') returning id");
    await client.query(
      `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
       select $1, d, '00:00', '23:59:59', 100
       from unnest(array[to_char(now() at time zone 'UTC', 'FMday'), to_char((now() + interval '1 day') at time zone 'UTC', 'FMday')]) d`,
      [user.id]);
    const { rows } = await client.query(
      "insert into videos (user_id, title) select $1, t from unnest($2::text[]) t returning id", [user.id, titles]);
    await client.query("select graphile_worker.add_job('schedule_uploads')");
    return rows.map((r) => r.id as string);
  } finally {
    await client.end();
  }
}

async function statusOf(url: string, ids: string[]) {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query("select status from videos where id = any($1)", [ids])).rows.map((r) => r.status);
  } finally {
    await client.end();
  }
}

t.test("the embedded default", async (t) => {
  const dataDir = dataDirFor(t);
  const log = mediaLog();
  const env = {
    DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: log.file,
    UPLOAD_CONCURRENCY: "2", SHUTDOWN_GRACE: "5 seconds",
  };

  // Started as a shell starts `npm start` in a terminal: the leader of a process group of its own.
  const first = startWorker(t, null, env, { detached: true });
  const dump = process.env.DUMP_WORKER_LOG;
  if (dump) t.teardown(() => appendFileSync(dump, `=== embedded first worker\n${first.output()}\n`));
  const url = await started(first);
  const server = postmasterPid(dataDir);
  t.not(processGroup(server), processGroup(first.child.pid!), "its PostgreSQL runs in a process group of its own");

  t.test("kill -9 of its PostgreSQL while idle: noticed, started again, and the worker goes on", async (t) => {
    process.kill(server, "SIGKILL");
    await waitFor("the server to be started again", async () => first.events("embedded_postgres_restarted").length > 0, 30_000);
    t.ok(first.events("embedded_postgres_exited").some((l) => /killed by SIGKILL/.test(l.how)), "it said what happened");
    t.not(postmasterPid(dataDir), server, "a new server");
    const ids = await tick(url, ["ok", "slow:200"]);
    await waitFor("the uploads", async () => (await statusOf(url, ids)).every((s) => s === "success"));
    t.equal(first.child.exitCode, null, "the worker is still running");
  });

  let recordedBeforeCtrlC = "";
  t.test("Ctrl-C in the terminal reaches only the worker, which lets the upload finish, then stops its PostgreSQL", async (t) => {
    const [id] = await tick(url, ["slow:1500"]);
    recordedBeforeCtrlC = id!;
    await waitFor("the upload to start", async () => (await statusOf(url, [id!]))[0] === "uploading");
    const pid = postmasterPid(dataDir);
    process.kill(-first.child.pid!, "SIGINT");
    t.equal(await first.exited, 0, "exits 0");
    t.ok(first.events("uploaded").some((l) => l.video_id === id), "the running upload finished and was recorded");
    t.notOk(isProcessRunning(pid), "its PostgreSQL is stopped");
    t.notOk(existsSync(path.join(dataDir, "pg", "postmaster.pid")), "cleanly");
  });

  t.test("kill -9 of the worker leaves its PostgreSQL running; the next start stops it and starts its own", async (t) => {
    const second = startWorker(t, null, env);
    await started(second);
    const orphan = postmasterPid(dataDir);
    second.child.kill("SIGKILL");
    await second.exited;
    t.ok(isProcessRunning(orphan), "the orphan runs on");

    const third = startWorker(t, null, env);
    await started(third);
    t.ok(third.events("embedded_postgres_notice").some((l) => l.level === "warn" && l.msg.includes(`stopping the PostgreSQL (pid ${orphan}) that an earlier run left running`)), "said so");
    t.notOk(isProcessRunning(orphan), "the orphan is gone");
    t.same(await statusOf(url, [recordedBeforeCtrlC]), ["success"], "the upload recorded before Ctrl-C is there");
    third.child.kill("SIGTERM");
    t.equal(await third.exited, 0);
  });

  t.test("a start error is shown as PostgreSQL wrote it, in one line, and the worker exits 1", async (t) => {
    const conf = path.join(dataDir, "pg", "postgresql.conf");
    const before = readFileSync(conf, "utf8");
    appendFileSync(conf, "\nshared_buffers = 'plenty'\n");
    t.teardown(() => writeFileSync(conf, before));
    const w = startWorker(t, null, env);
    t.equal(await w.exited, 1);
    const errors = w.lines().filter((l) => l.level === "error");
    t.equal(errors.length, 1, "one line");
    t.match(errors[0].error, /the embedded PostgreSQL did not start:\n.*invalid value for parameter "shared_buffers": "plenty"[\s\S]*FATAL: {2}configuration file ".*postgresql.conf" contains errors/);
    t.notMatch(w.output(), /\n\s+at /, "no stack trace");
  });

  t.test("its port taken (by another server): one line naming EMBEDDED_PG_PORT", async (t) => {
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    t.teardown(() => new Promise((resolve) => holder.close(resolve)));
    const w = startWorker(t, null, { ...env, DATA_DIR: dataDirFor(t), EMBEDDED_PG_PORT: String(port) });
    t.equal(await w.exited, 1);
    const errors = w.lines().filter((l) => l.level === "error");
    t.equal(errors.length, 1, "one line");
    t.match(errors[0].error, new RegExp(`port ${port} on 127.0.0.1 is taken .*set EMBEDDED_PG_PORT to a free port, or DATABASE_URL`));
    t.notMatch(w.output(), /^postgres:\/\//m, "no URL to connect to is printed");
  });
});

t.test("as root, a DATA_DIR the postgres user cannot reach: one line saying what to do", { skip: process.getuid?.() !== 0 && "not root" }, async (t) => {
  const privateDir = mkdtempSync(path.join(tmpdir(), "upsched-private-"));
  t.teardown(() => rmSync(privateDir, { recursive: true, force: true }));
  const w = startWorker(t, null, { DATA_DIR: path.join(privateDir, "data"), EMBEDDED_PG_PORT: String(await freePort()) });
  t.equal(await w.exited, 1);
  const errors = w.lines().filter((l) => l.level === "error");
  t.equal(errors.length, 1, "one line");
  t.match(errors[0].error, /runs as the postgres user, who cannot reach .*upsched-private-.*: set DATA_DIR to a folder the postgres user can reach .* or set DATABASE_URL/);
  t.notMatch(w.output(), /\n\s+at |EACCES/, "no stack trace, no EACCES");
});

t.test("as root, binaries in a folder the postgres user cannot reach are run from a copy it can", { skip: process.getuid?.() !== 0 && "not root" }, async (t) => {
  const user = (await postgresOsUser())!;
  const bin = await embeddedBinaries();
  const privateDir = mkdtempSync(path.join(tmpdir(), "upsched-private-"));
  const cacheDir = mkdtempSync(path.join(tmpdir(), "upsched-cache-"));
  chmodSync(cacheDir, 0o755);
  t.teardown(() => {
    rmSync(privateDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });
  const native = path.join(privateDir, "native");
  cpSync(path.dirname(path.dirname(bin.postgres)), native, { recursive: true, verbatimSymlinks: true });
  const hidden = { initdb: path.join(native, "bin/initdb"), pg_ctl: path.join(native, "bin/pg_ctl"), postgres: path.join(native, "bin/postgres") };
  const asPostgres = (file: string) => execFileSync(file, ["--version"], { uid: user.uid, gid: user.gid, cwd: "/", encoding: "utf8" });
  t.throws(() => asPostgres(hidden.postgres), "the postgres user cannot run them where they are");

  const usable = await reachableBinaries(hidden, user, cacheDir);
  t.ok(usable.postgres.startsWith(cacheDir), `a copy under ${usable.postgres}`);
  t.match(asPostgres(usable.postgres), /postgres \(PostgreSQL\) 15/);
  t.match(asPostgres(usable.initdb), /initdb \(PostgreSQL\) 15/);
  t.same(await reachableBinaries(hidden, user, cacheDir), usable, "made once, then reused");
  t.same(await reachableBinaries(bin, user, cacheDir), bin, "binaries it can reach are used where they are");
});
