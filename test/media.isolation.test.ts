// Each upload's mediaProccess runs in a thread of its own: whatever it does ends that upload alone.
import t from "tap";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import { credentialsEnv, destinationUploads, isolatedUploads, outcomeOf, type UploadRun } from "../src/media/isolation.js";
import { describeRejection, fromWire, toWire } from "../src/media/plugin.js";
import { jsonLogger } from "../src/log.js";
import type { Video } from "../src/types.js";
import { SCRIPTED_MEDIA, mediaLog, waitFor } from "./fixtures/worker.js";

const video = (title: string, sourcePath: string | null = null): Video => ({
  id: randomUUID(), userId: randomUUID(), status: "uploading", title, sourcePath, slotId: null, slotDate: "2026-11-30",
  createdAt: DateTime.fromISO("2026-11-30T09:00:00.123", { zone: "Asia/Kolkata" }), claimedAt: null,
  startedAt: DateTime.fromISO("2026-11-30T09:01:00", { zone: "Asia/Kolkata" }), finishedAt: null,
  attempts: 2, lastError: null, lastOutcome: null, worker: null, remoteId: null, remoteUrl: null, bytesSent: null, bytesTotal: null, resumeState: null, freeAttempts: 0, metadata: null, destination: null, notBefore: null, queuePriority: 0, timeZone: "Asia/Kolkata",
});

function setup(t: any, settleMs?: number) {
  const log = mediaLog();
  process.env.MEDIA_LOG = log.file;
  t.teardown(() => delete process.env.MEDIA_LOG);
  const lines: any[] = [];
  const logger = jsonLogger({}, (line) => lines.push(JSON.parse(line)));
  const run = isolatedUploads({ module: SCRIPTED_MEDIA }, settleMs === undefined ? {} : { settleMs });
  const upload = (title: string, signal = new AbortController().signal) =>
    run(video(title), { signal, attempt: 2, idempotencyKey: "k", logger });
  return { log, lines, upload };
}

t.test("a video crosses to the thread and back unchanged", async (t) => {
  const v = video("ok");
  const back = fromWire(structuredClone(toWire(v)));
  t.ok(back.createdAt.equals(v.createdAt), "DateTimes keep their instant and zone");
  t.equal(back.claimedAt, null);
  t.same({ ...back, createdAt: 0, startedAt: 0 }, { ...v, createdAt: 0, startedAt: 0 });
});

t.test("rejections are kept readably", async (t) => {
  t.equal(describeRejection(new Error("token expired")), "token expired");
  t.equal(describeRejection(new TypeError("")), "TypeError", "an Error without a message is named");
  t.equal(describeRejection("quota exceeded"), "quota exceeded");
  t.equal(describeRejection(""), "mediaProccess rejected with an empty string");
  t.equal(describeRejection({ status: 403, body: "token expired" }), '{"status":403,"body":"token expired"}', "objects as JSON, not [object Object]");
  t.equal(describeRejection(undefined), "mediaProccess rejected with undefined");
  t.equal(describeRejection(42), "42");
  const circular: any = {};
  circular.self = circular;
  t.equal(describeRejection(circular), "[object Object]", "what JSON cannot say falls back to text");
});

t.test("what the plug-in does is what the upload gets; a crash ends only its own upload", async (t) => {
  const { upload, log } = setup(t);
  const runs = await Promise.all(["slow:400", "plain", "reject-object", "exit:1", "throw-later:boom", "unhandled:nope", "reject:403 token expired", "slow:400"].map((title) => upload(title)));
  t.same(runs, [
    { settled: "resolved", value: undefined },
    { settled: "resolved", value: { plain: true } },
    { settled: "rejected", error: '{"status":403,"body":"token expired"}' },
    { settled: "crashed", error: "mediaProccess ended its thread (process.exit(1)) before the upload finished" },
    { settled: "crashed", error: "mediaProccess crashed: uncaught exception: boom" },
    { settled: "crashed", error: "mediaProccess crashed: unhandled rejection: nope" },
    { settled: "rejected", error: "403 token expired" },
    { settled: "resolved", value: undefined },
  ]);
  t.equal(log.entries().filter((e) => e.event === "done").length, 3, "the healthy uploads beside the crashing ones finished");
  const calls = log.entries().filter((e) => e.event === "call");
  t.ok(calls.length >= 3, `${calls.length} calls reached their threads`);
  t.ok(calls.every((e) => e.attempt === 2 && e.idempotencyKey === "k"), "attempt and idempotency key reach the thread");
});

t.test("a plug-in that cannot be loaded in the thread fails its upload with the reason", async (t) => {
  const dir = t.testdir({ "broken.mjs": "export function mediaProccess() {}\nthrow new Error('module init failed')" });
  const run = isolatedUploads({ module: path.join(dir, "broken.mjs") });
  const result = await run(video("ok"), { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, () => {}) });
  t.match(result, { settled: "rejected", error: /could not be loaded: module init failed/ });
});

t.test("the signal: a plug-in that listens settles; one that does not is stopped after the settle time", async (t) => {
  const { upload, log } = setup(t, 300);
  const controller = new AbortController();
  const listening = upload("hang", controller.signal);
  const deaf = upload("deaf:5000", controller.signal);
  await waitFor("both plug-ins to be called", async () => log.entries().filter((e) => e.event === "call").length === 2);
  controller.abort(new Error("upload timed out"));
  t.same(await listening, { settled: "rejected", error: "upload timed out" }, "the plug-in saw the abort and its reason");
  t.same(await deaf, { settled: "stopped" });
  t.notOk(log.entries().some((e) => e.event === "done"), "the deaf plug-in never finished: its thread was ended");
  const calls = log.entries().length;
  t.same(await upload("ok", AbortSignal.abort(new Error("already"))), { settled: "stopped" }, "a signal aborted before the start: no thread at all");
  t.equal(log.entries().length, calls, "the plug-in was not called");
});

t.test("the plug-in's log lines reach the worker's log, tagged", async (t) => {
  const dir = t.testdir({
    "logs.mjs": "export async function mediaProccess(video, { logger }) { logger.child({ step: 'put' }).warn('retrying', { n: 2 }); logger.info('sent'); return 'ok' }",
  });
  const lines: any[] = [];
  const run = isolatedUploads({ module: path.join(dir, "logs.mjs") });
  const result = await run(video("ok"), { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({ video_id: "v" }, (l) => lines.push(JSON.parse(l))) });
  t.same(result, { settled: "resolved", value: "ok" });
  t.match(lines, [
    { level: "warn", event: "media_process", msg: "retrying", video_id: "v", step: "put", n: 2 },
    { level: "info", event: "media_process", msg: "sent", video_id: "v" },
  ], "as media_process lines, with the plug-in's own sentence");
});

t.test("spare threads: started ahead, their plug-in loaded; one that died is never handed out", async (t) => {
  const dir = t.testdir({ "dies.mjs": "setTimeout(() => process.exit(3), 0); export function mediaProccess() { return 'ran' }" });
  const { upload } = setup(t);
  const run = isolatedUploads({ module: SCRIPTED_MEDIA }, { spares: 2 });
  t.equal(run.threadsStarted(), 2, "two spare threads are started ahead, before any upload");
  await waitFor("the spares to be ready", async () => run.sparesReady() === 2);
  t.same(await run(video("ok"), { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, () => {}) }), { settled: "resolved", value: undefined });
  t.equal(run.spareTaken(), 1, "the upload ran in a spare: no thread was started for it");
  t.same(await upload("plain"), { settled: "resolved", value: { plain: true } }, "without spares, a thread is started for the upload");
  const dying = isolatedUploads({ module: path.join(dir, "dies.mjs") }, { spares: 1 });
  await waitFor("the spare to die", async () => dying.sparesLost() === 1);
  t.same(await dying(video("ok"), { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, () => {}) }),
    { settled: "resolved", value: "ran" }, "the spare that died was not handed out (its upload would never end): a fresh thread ran it");
});

t.test("the built-in local destination runs in the thread too", async (t) => {
  const dir = t.testdir({ "clip.mp4": "0123456789", uploads: {} });
  const run = isolatedUploads({ uploadDir: path.join(dir, "uploads") });
  const v = video("ok", path.join(dir, "clip.mp4"));
  const result = await run(v, { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, () => {}) });
  t.match(result, { settled: "resolved", value: { path: path.join(dir, "uploads", `${v.id}.mp4`), bytes: 10 } });
});

t.test("the outcome recorded for each way an upload can end", async (t) => {
  const why = { timedOut: false, shutDown: false, uploadTimeout: "2 seconds" };
  const cases: Array<[UploadRun, Partial<typeof why>, string, string | null]> = [
    [{ settled: "resolved", value: 1 }, {}, "success", null],
    [{ settled: "resolved", value: 1 }, { timedOut: true }, "success", null],
    [{ settled: "rejected", error: "403" }, {}, "failed", "403"],
    [{ settled: "crashed", error: "mediaProccess crashed: x" }, {}, "failed", "mediaProccess crashed: x"],
    [{ settled: "stopped" }, { timedOut: true }, "timed_out", "upload timed out after 2 seconds"],
    [{ settled: "rejected", error: "aborted" }, { shutDown: true }, "aborted", "upload aborted: the worker shut down"],
    [{ settled: "stopped" }, {}, "failed", "upload stopped"],
  ];
  for (const [run, overrides, outcome, error] of cases) {
    t.same(outcomeOf(run, { ...why, ...overrides }), { outcome, error }, `${run.settled} ${JSON.stringify(overrides)}`);
  }
});

t.test("the kinds of failure a plug-in throws become outcomes: retry later (with its instant), needs reconnect, permanent; reconcile's unknown", async (t) => {
  const why = { timedOut: false, shutDown: false, uploadTimeout: "2 seconds" };
  const until = "2026-12-07T08:00:00.000Z";
  t.same(outcomeOf({ settled: "rejected", error: "429", failure: { kind: "retry-later", message: "429 slow down", until } }, why),
    { outcome: "retry_later", error: "429 slow down", retryAt: new Date(until) });
  t.same(outcomeOf({ settled: "rejected", error: "x", failure: { kind: "retry-later", message: "", until: null } }, why),
    { outcome: "retry_later", error: "the destination asked to retry later", retryAt: null }, "no instant: the runner's cool-down");
  t.same(outcomeOf({ settled: "rejected", error: "401", failure: { kind: "needs-reconnect", message: "401 token revoked", until: null } }, why),
    { outcome: "needs_reconnect", error: "401 token revoked" });
  t.same(outcomeOf({ settled: "rejected", error: "400", failure: { kind: "permanent", message: "invalid title", until: null } }, { ...why, timedOut: true }),
    { outcome: "permanent", error: "invalid title" }, "a permanent failure stays permanent even as the time runs out");
  t.same(outcomeOf({ settled: "unknown", error: "reconcile failed: 503" }, why), { outcome: "unknown", error: "reconcile failed: 503", retryAt: null });
});

t.test("the runner's lease reaches the thread: fence, checkpoint, progress, resume; reconcile runs first when asked", async (t) => {
  const dir = t.testdir({
    "leased.mjs": `
      export async function reconcile(video, context) {
        if (video.title === "at the platform") return { status: "done", value: { remoteId: context.resume.id } };
        if (video.title === "cannot tell") return "unknown";
        if (video.title === "reconcile throws") throw new Error("503 from the status endpoint");
        return "not-done";
      }
      export async function mediaProccess(video, context) {
        if (video.title === "slow down") throw Object.assign(new Error("429"), { kind: "retry-later", until: "2026-12-07T08:00:00Z" }); // RetryLater's shape, as a plug-in without the package throws it
        context.progress(10, 100);
        await context.checkpoint({ offset: 10, from: context.resume });
        context.progress(100, 100);
        await context.fence();
        return { resumedFrom: context.resume };
      }`,
  });
  const run = isolatedUploads({ module: path.join(dir, "leased.mjs") });
  const calls: unknown[] = [];
  const lease = (fenceAnswer: () => Promise<void>) => ({
    fence: () => (calls.push("fence"), fenceAnswer()),
    checkpoint: async (state: unknown) => void calls.push({ checkpoint: state }),
    progress: (sent: number, total: number | null) => void calls.push({ progress: [sent, total] }),
  });
  const base = { signal: new AbortController().signal, attempt: 2, idempotencyKey: "k", logger: jsonLogger({}, () => {}) };

  t.same(await run(video("new"), { ...base, resume: { offset: 4 }, lease: lease(async () => {}) }),
    { settled: "resolved", value: { resumedFrom: { offset: 4 } } });
  // Progress is sent at most every 250 ms, and its last figure always before the result.
  t.same(calls.filter((c: any) => c.progress?.[0] !== 100), [{ progress: [10, 100] }, { checkpoint: { offset: 10, from: { offset: 4 } } }, "fence"],
    "progress, the checkpoint and the fence went through the runner, in order");
  t.same(calls.filter((c: any) => c.progress).at(-1), { progress: [100, 100] }, "the last progress reached the runner");

  calls.length = 0;
  t.match(await run(video("new"), { ...base, lease: lease(async () => { throw Object.assign(new Error("lease lost"), { name: "LeaseLostError" }); }) }),
    { settled: "rejected", error: "lease lost" }, "a fence that fails throws in the plug-in, before its irreversible step");

  t.same(await run(video("at the platform"), { ...base, resume: { id: "yt-1" }, reconcileFirst: true, lease: lease(async () => {}) }),
    { settled: "resolved", value: { remoteId: "yt-1" }, reconciled: true }, "reconcile: done, with its value, and no upload");
  t.same(await run(video("at the platform"), { ...base, resume: { id: "yt-1" }, reconcileFirst: false, lease: lease(async () => {}) }),
    { settled: "resolved", value: { resumedFrom: { id: "yt-1" } } }, "not asked: no reconcile, the upload runs");
  t.same(await run(video("cannot tell"), { ...base, reconcileFirst: true }),
    { settled: "unknown", error: "reconcile could not tell whether an earlier attempt's upload completed" });
  t.same(await run(video("reconcile throws"), { ...base, reconcileFirst: true }),
    { settled: "unknown", error: "reconcile failed: 503 from the status endpoint" });
  t.same(await run(video("slow down"), { ...base, reconcileFirst: true }),
    { settled: "rejected", error: "429", failure: { kind: "retry-later", message: "429", until: "2026-12-07T08:00:00.000Z" } },
    "not-done: the upload runs; its RetryLater crosses back with its kind and instant");
});

t.test("a plug-in that logs without pause cannot flood its worker: lines over 200 a second are dropped and counted", async (t) => {
  const dir = t.testdir({
    "chatty.mjs": "export async function mediaProccess(video, { logger }) { for (let i = 0; i < 50000; i++) logger.info('line ' + i); return 'done' }",
  });
  const lines: any[] = [];
  const run = isolatedUploads({ module: path.join(dir, "chatty.mjs") });
  const result = await run(video("ok"), { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, (l) => lines.push(JSON.parse(l))) });
  t.same(result, { settled: "resolved", value: "done" });
  const kept = lines.filter((l) => l.event === "media_process").length;
  const dropped = lines.filter((l) => l.event === "media_process_log_dropped").reduce((n, l) => n + l.dropped, 0);
  t.ok(kept < 50000 && kept >= 200, `${kept} lines kept`);
  t.equal(kept + dropped, 50000, "every line is kept or counted as dropped");
});

t.test("what a plug-in prints (console.log, console.error) reaches the log as capped lines, not the process's stdout", async (t) => {
  const dir = t.testdir({
    "prints.mjs": "export async function mediaProccess() { console.error('warming up'); for (let i = 0; i < 50000; i++) console.log('frame ' + i); return 'printed' }",
  });
  const lines: any[] = [];
  const run = isolatedUploads({ module: path.join(dir, "prints.mjs") });
  const result = await run(video("ok"), { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, (l) => lines.push(JSON.parse(l))) });
  t.same(result, { settled: "resolved", value: "printed" });
  t.match(lines.find((l) => l.stream === "stderr"), { level: "warn", event: "media_process", msg: "warming up" }, "stderr: warn lines");
  const printed = lines.filter((l) => l.event === "media_process" && l.stream === "stdout");
  t.ok(printed.length >= 1 && printed.length < 50000, `${printed.length} stdout lines kept, the rest dropped and counted`);
  t.match(printed[0], { level: "info", msg: "frame 0" });
  t.ok(lines.some((l) => l.event === "media_process_log_dropped"), "the drop is said");
});

t.test("credentials by name: VAR__NAME stands in for VAR; no name, the environment as it is", async (t) => {
  const env = { TUS_ENDPOINT: "https://default/", TUS_ENDPOINT__ACME: "https://acme/", TUS_HEADERS__ACME: "{}", __ACME: "x", OTHER: "1" };
  t.same(credentialsEnv(env, "ACME"), { ...env, TUS_ENDPOINT: "https://acme/", TUS_HEADERS: "{}" });
  t.equal(credentialsEnv(env, null), env);
  t.same(credentialsEnv(env, "NOBODY"), env, "a name with no variables changes nothing");
});

t.test("one runner serves every destination: the default's threads, and a destination's own, made when first asked for", async (t) => {
  const dir = t.testdir({
    "other.mjs": "export function mediaProccess(video, { env }) { return { from: 'other', endpoint: env.ENDPOINT ?? null } }",
    "clip.mp4": "0123456789",
    uploads: {},
  });
  setup(t);
  const run = destinationUploads({ module: SCRIPTED_MEDIA }, { uploadDir: path.join(dir, "uploads") });
  const base = { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, () => {}) };
  t.same(await run(video("plain"), base), { settled: "resolved", value: { plain: true } }, "no destination: the default");
  t.same(await run(video("x"), { ...base, destination: path.join(dir, "other.mjs"), env: { ENDPOINT: "https://acme/" } }),
    { settled: "resolved", value: { from: "other", endpoint: "https://acme/" } }, "a module path, with the environment given");
  const local = video("x", path.join(dir, "clip.mp4"));
  t.match(await run(local, { ...base, destination: "builtin:local" }), { settled: "resolved", value: { bytes: 10 } }, "builtin:local copies into UPLOAD_DIR");
  t.ok(run.threadsStarted() >= 3);
  t.equal(run.sparesReady(), 0);
  t.equal(run.spareTaken(), 0);
  t.equal(run.sparesLost(), 0);
});
