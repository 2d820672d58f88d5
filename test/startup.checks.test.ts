// Start-up checks: every number and duration valid, UPLOAD_DIR and DATA_DIR writable, the plug-in
// loadable; otherwise one line per problem, and exit non-zero.
import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, readConfig, resolveDurations, writableFolderProblem } from "../src/config.js";
import { testDatabase } from "./fixtures/db.js";
import { startWorker } from "./fixtures/worker.js";

t.test("readConfig: the contract's defaults, and every bad number at once", async (t) => {
  const config = readConfig({});
  t.match(config, {
    databaseUrl: undefined, dataDir: ".data", embeddedPort: 54329, mediaProcessModule: undefined, uploadDir: path.join(".data", "uploads"),
    uploadConcurrency: 4, uploadTimeout: "30 minutes", staleAfter: "30 minutes", retryAfter: "30 minutes", maxAttempts: 3,
    interruptedAfter: undefined, startGrace: "5 minutes", shutdownGrace: "20 seconds", sourceRoots: [],
  });
  t.same(readConfig({ SOURCE_ROOTS: "/srv/media:/mnt/clips" }).sourceRoots, ["/srv/media", "/mnt/clips"]);
  t.equal(readConfig({ DATA_DIR: "/srv/x", START_GRACE: "0 seconds" }).uploadDir, "/srv/x/uploads");
  try {
    readConfig({ UPLOAD_CONCURRENCY: "0", MAX_ATTEMPTS: "three", EMBEDDED_PG_PORT: "70000", START_GRACE: "1 minute", DASHBOARD_TOKEN: "secret" });
    t.fail("should throw");
  } catch (error) {
    t.type(error, ConfigError);
    t.same((error as ConfigError).problems, [
      'EMBEDDED_PG_PORT="70000" is not a whole number from 1 to 65535; unset it for the default 54329.',
      'UPLOAD_CONCURRENCY="0" is not a positive whole number; unset it for the default 4.',
      'MAX_ATTEMPTS="three" is not a positive whole number; unset it for the default 3.',
      "DASHBOARD_TOKEN is 6 characters long: use 16 or more (e.g. openssl rand -hex 24), or unset it for a read-only dashboard.",
    ]);
    t.equal(readConfig({ DASHBOARD_TOKEN: "0123456789abcdef" }).dashboardToken, "0123456789abcdef", "16 characters are enough");
    t.equal(readConfig({}).dashboardToken, undefined, "unset: no actions");
  }
});

t.test("resolveDurations: PostgreSQL's parser, and INTERRUPTED_AFTER longer than UPLOAD_TIMEOUT", async (t) => {
  const db = await testDatabase(t);
  const ok = await resolveDurations(db.pool, readConfig({ UPLOAD_TIMEOUT: "2 minutes", SHUTDOWN_GRACE: "5 seconds" }));
  t.same(ok, {
    uploadTimeoutMs: 120_000, shutdownGraceMs: 5000, interruptedAfter: "00:07:00",
    leaseMs: 60_000, heartbeatMs: 10_000, maxClockSkewMs: 30_000, retryAfterMs: 1_800_000,
  }, "INTERRUPTED_AFTER defaults to UPLOAD_TIMEOUT + 5 minutes; LEASE to 1 minute, HEARTBEAT_EVERY to 10 seconds, MAX_CLOCK_SKEW to 30 seconds");
  t.equal((await resolveDurations(db.pool, readConfig({ START_GRACE: "0", INTERRUPTED_AFTER: "2 hours" }))).interruptedAfter, "2 hours");

  await t.rejects(resolveDurations(db.pool, readConfig({
    UPLOAD_TIMEOUT: "forever", RETRY_FAILED_AFTER: "0 seconds", START_GRACE: "-1 minute", STALE_PENDING_AFTER: "10 minutes",
  })), <any>{
    problems: [
      `UPLOAD_TIMEOUT="forever" is not a PostgreSQL interval; write e.g. '90 seconds' or '30 minutes'.`,
      'RETRY_FAILED_AFTER="0 seconds" must be longer than zero.',
      'START_GRACE="-1 minute" must be zero or longer.',
    ],
  });
  await t.rejects(resolveDurations(db.pool, readConfig({ UPLOAD_TIMEOUT: "10 minutes", INTERRUPTED_AFTER: "10 minutes" })), <any>{
    problems: [
      'INTERRUPTED_AFTER="10 minutes" must be longer than UPLOAD_TIMEOUT="10 minutes": otherwise an upload still running is failed as interrupted and uploaded again.',
    ],
  });
  await t.rejects(resolveDurations(db.pool, readConfig({ LEASE: "30 seconds", HEARTBEAT_EVERY: "15 seconds", MAX_CLOCK_SKEW: "soon" })), <any>{
    problems: [
      `MAX_CLOCK_SKEW="soon" is not a PostgreSQL interval; write e.g. '90 seconds' or '30 minutes'.`,
      'HEARTBEAT_EVERY="15 seconds" must be at most a third of LEASE="30 seconds": a lease must survive a missed heartbeat or two.',
    ],
  });
  await t.rejects(resolveDurations(db.pool, readConfig({ LEASE: "500 milliseconds", HEARTBEAT_EVERY: "100 milliseconds" })), <any>{
    problems: ['LEASE="500 milliseconds" must lie from 1 second to 1 day.'],
  });
});

t.test("writableFolderProblem: a folder made when missing; a file in the way; a read-only file system", async (t) => {
  const dir = t.testdir({ "a-file": "x" });
  t.equal(await writableFolderProblem("UPLOAD_DIR", path.join(dir, "new", "uploads")), null, "made, and written in");
  t.match(await writableFolderProblem("UPLOAD_DIR", path.join(dir, "a-file")),
    /^UPLOAD_DIR=.*a-file is not a writable folder: .*a-file is a file, not a folder \(EEXIST\)\. Set UPLOAD_DIR to a folder this user can write in\.$/);
  t.match(await writableFolderProblem("DATA_DIR", path.join(dir, "a-file", "below")), /writable folder: \S*a-file is a file, not a folder \(ENOTDIR\)/);

  if (process.getuid?.() !== 0) {
    mkdirSync(path.join(dir, "locked"), { mode: 0o500 });
    t.match(await writableFolderProblem("UPLOAD_DIR", path.join(dir, "locked", "uploads")), /permission denied on .*locked \(EACCES\)/);
    return;
  }
  // As root, permissions do not stop a write: a read-only tmpfs does. Node's mkdir says ENOENT there.
  const readOnly = mkdtempSync(path.join(tmpdir(), "upsched-read-only-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", readOnly], { stdio: "ignore" });
  } catch {
    rmdirSync(readOnly);
    t.comment("cannot mount a read-only tmpfs here: the EROFS case is not checked");
    return;
  }
  // Unmounted even if this process dies first.
  const unmount = () => {
    execFileSync("umount", [readOnly]);
    rmdirSync(readOnly);
  };
  process.once("exit", unmount);
  t.teardown(() => {
    process.off("exit", unmount);
    unmount();
  });
  t.match(await writableFolderProblem("UPLOAD_DIR", path.join(readOnly, "uploads")), /the file system holding .*upsched-read-only-\w+ is read-only \(EROFS\)/);
  t.match(await writableFolderProblem("UPLOAD_DIR", readOnly), /read-only \(EROFS\)/, "an existing folder too");
});

t.test("npm start with a bad configuration: one line per problem, exit 1, no stack trace", async (t) => {
  const dir = t.testdir({ "a-file": "x", "no-export.mjs": "export const upload = 1" });
  const first = startWorker(t, null, {
    UPLOAD_CONCURRENCY: "0", MAX_ATTEMPTS: "x", UPLOAD_DIR: path.join(dir, "a-file"), DATA_DIR: path.join(dir, "a-file", "data"),
  });
  t.equal(await first.exited, 1, "exits 1 before touching a database");
  t.same(first.lines().map((l) => [l.level, l.event]), Array(4).fill(["error", "start_failed"]), "every problem at once, one line each");
  t.match(first.lines().map((l) => l.error),
    [/^UPLOAD_CONCURRENCY="0"/, /^MAX_ATTEMPTS="x"/, /^UPLOAD_DIR=.*a-file is not a writable folder/, /^DATA_DIR=.*is not a writable folder/]);

  const second = startWorker(t, null, { UPLOAD_DIR: path.join(dir, "a-file"), DATA_DIR: path.join(dir, "a-file", "data") });
  t.equal(await second.exited, 1);
  t.match(second.lines().map((l) => l.error), [/^UPLOAD_DIR=.*a-file is not a writable folder/, /^DATA_DIR=.*is not a writable folder/]);
  t.notMatch(second.output(), /^postgres:\/\//m, "no URL to connect to is printed");

  const roots = startWorker(t, null, { SOURCE_ROOTS: `${path.join(dir, "a-file")}:${path.join(dir, "nowhere")}` });
  t.equal(await roots.exited, 1);
  t.match(roots.lines().map((l) => l.error), [/^SOURCE_ROOTS: .*a-file is not a folder/, /^SOURCE_ROOTS: .*nowhere does not exist/]);

  const third = startWorker(t, null, { MEDIA_PROCESS_MODULE: path.join(dir, "no-export.mjs") });
  t.equal(await third.exited, 1);
  t.match(third.lines().map((l) => l.error), [/does not export a function mediaProccess\(video, context\); it exports: upload/]);

  const db = await testDatabase(t);
  const fourth = startWorker(t, db, { UPLOAD_TIMEOUT: "2 minutes", INTERRUPTED_AFTER: "1 minute", SHUTDOWN_GRACE: "soon" });
  t.equal(await fourth.exited, 1);
  t.match(fourth.lines().filter((l) => l.level === "error").map((l) => l.error), [/^SHUTDOWN_GRACE="soon" is not a PostgreSQL interval/, /^INTERRUPTED_AFTER="1 minute" must be longer than UPLOAD_TIMEOUT="2 minutes"/]);
  for (const w of [first, second, roots, third, fourth]) t.notMatch(w.output(), /\n\s+at /, "no stack trace");
});

t.test("a plug-in path that does not exist", async (t) => {
  const w = startWorker(t, null, { MEDIA_PROCESS_MODULE: "/nowhere/plugin.mjs" });
  t.equal(await w.exited, 1);
  t.match(w.lines()[0], { level: "error", event: "start_failed", error: /^MEDIA_PROCESS_MODULE \/nowhere\/plugin.mjs could not be loaded: / });
});
