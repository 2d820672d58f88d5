// What a destination plug-in is given and may throw: the error classes (recognised after a
// worker-thread boundary too), reconcile's answers, the whole context, and how a plug-in loads.
import t from "tap";
import path from "node:path";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { NeedsReconnect, PermanentFailure, RetryLater, failureFields, failureKind } from "../src/media/errors.js";
import { completeContext, loadPlugin, reconcileResult } from "../src/media/plugin.js";
import * as pkg from "../src/index.js";
import { videoFor } from "./fixtures/destinations.js";

t.test("each failure class has a name, a stable kind and a message", async (t) => {
  const until = new Date("2026-12-01T08:00:00Z");
  const later = new RetryLater("quota used up", { until });
  t.ok(later instanceof Error);
  t.match(later, { name: "RetryLater", kind: "retry-later", message: "quota used up", until });
  t.equal(new RetryLater("busy", { until: "2026-12-01T08:00:00Z" }).until?.getTime(), until.getTime(), "until may be ISO text");
  t.equal(new RetryLater("busy").until, null, "until is null when not given");
  t.throws(() => new RetryLater("busy", { until: "next week" }), /until must be a Date or an ISO timestamp, got "next week"/);
  t.match(new NeedsReconnect("token revoked"), { name: "NeedsReconnect", kind: "needs-reconnect" });
  t.match(new PermanentFailure("title too long", { cause: 400 }), { name: "PermanentFailure", kind: "permanent", cause: 400 });
  t.equal(pkg.RetryLater, RetryLater, "the package exports them");
  t.equal(pkg.NeedsReconnect, NeedsReconnect);
  t.equal(pkg.PermanentFailure, PermanentFailure);
});

t.test("failureKind recognises the classes, and what is left of them after a structured clone", async (t) => {
  t.equal(failureKind(new RetryLater("x")), "retry-later");
  t.equal(failureKind(new NeedsReconnect("x")), "needs-reconnect");
  t.equal(failureKind(new PermanentFailure("x")), "permanent");
  // As a plug-in's thread would post it: the class is lost, the plain properties stay.
  const { port1, port2 } = new MessageChannel();
  const error = new RetryLater("quota", { until: new Date(0) });
  port1.postMessage({ kind: error.kind, message: error.message, until: error.until });
  const crossed = receiveMessageOnPort(port2)!.message;
  port1.close();
  t.notOk(crossed instanceof RetryLater);
  t.equal(failureKind(crossed), "retry-later");
  t.equal(failureKind(JSON.parse(JSON.stringify({ kind: "permanent" }))), "permanent");
  for (const other of [new Error("x"), { kind: "other" }, { kind: 3 }, "retry-later", null, undefined, 42]) {
    t.equal(failureKind(other), null, `not a failure kind: ${JSON.stringify(other)}`);
  }
});

t.test("failureFields: a failure as plain data that crosses a thread and comes out recognised, until included", async (t) => {
  const until = new Date("2026-12-01T08:00:00Z");
  t.equal(failureKind(structuredClone(new RetryLater("quota", { until }))), null, "an Error's structured clone loses its kind: this is why");
  const crossed = structuredClone(failureFields(new RetryLater("quota", { until })));
  t.same(crossed, { kind: "retry-later", message: "quota", until: "2026-12-01T08:00:00.000Z" });
  t.equal(failureKind(crossed), "retry-later");
  t.same(failureFields(new NeedsReconnect("token revoked")), { kind: "needs-reconnect", message: "token revoked", until: null });
  t.same(failureFields({ kind: "permanent" }), { kind: "permanent", message: "", until: null });
  t.same(failureFields({ kind: "retry-later", message: "m", until: "2026-12-01T08:00:00Z" }), { kind: "retry-later", message: "m", until: "2026-12-01T08:00:00.000Z" });
  t.same(failureFields({ kind: "retry-later", message: "m", until: "soon" }), { kind: "retry-later", message: "m", until: null });
  t.equal(failureFields(new Error("network")), null, "any other error: null");
  t.equal(pkg.failureFields, failureFields);
});

t.test("reconcileResult gives every answer one shape, and refuses what is not an answer", async (t) => {
  t.same(reconcileResult("done"), { status: "done", value: null });
  t.same(reconcileResult("not-done"), { status: "not-done", value: null });
  t.same(reconcileResult({ status: "unknown" }), { status: "unknown", value: null });
  t.same(reconcileResult({ status: "done", value: { remoteId: "abc" } }), { status: "done", value: { remoteId: "abc" } });
  t.throws(() => reconcileResult("yes"), /reconcile answered "yes": it must answer "done", "not-done" or "unknown", or \{ status, value \}/);
  t.throws(() => reconcileResult({ state: "done" }), /reconcile answered \{"state":"done"\}/);
  t.throws(() => reconcileResult(undefined), /reconcile answered undefined/);
});

t.test("completeContext fills in what the runner does not give yet, and keeps what it gives", async (t) => {
  const controller = new AbortController();
  const logger = { info() {}, warn() {}, error() {}, child: () => logger };
  const context = completeContext({ signal: controller.signal, attempt: 2, idempotencyKey: "k", logger });
  t.equal(context.resume, null);
  t.equal(context.env, process.env);
  t.equal(context.attempt, 2);
  await context.checkpoint({ uploadUrl: "u" });
  context.progress(1, 2);
  await t.resolves(context.fence(), "the fence holds while the attempt runs");
  controller.abort(new Error("timed out"));
  await t.rejects(context.fence(), /timed out/, "and fails once its signal fired");

  const given = { fence: async () => {}, checkpoint: async () => {}, resume: { a: 1 }, progress: () => {}, env: { TUS_ENDPOINT: "x" } };
  const kept = completeContext({ signal: controller.signal, attempt: 1, idempotencyKey: "k", logger, ...given });
  t.match(kept, given);
});

t.test("a plug-in module: mediaProccess gets a whole context; reconcile, when exported, answers in one shape", async (t) => {
  const dir = t.testdir({
    "with-reconcile.mjs": `
      export async function mediaProccess(video, context) {
        return { resume: context.resume, env: typeof context.env, fence: typeof context.fence };
      }
      export async function reconcile(video, context) { return context.resume ? "done" : { status: "not-done" }; }`,
    "default-export.mjs": "export default { mediaProccess: () => 'ok', reconcile: () => 'unknown' }",
    "bad-reconcile.mjs": "export function mediaProccess() {}\nexport const reconcile = 'done'",
    "garbled-reconcile.mjs": "export function mediaProccess() {}\nexport function reconcile() { return 'yes' }",
  });
  const logger = { info() {}, warn() {}, error() {}, child: () => logger };
  const runner = { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger };
  const video = videoFor("/dev/null");

  const plugin = await loadPlugin(path.join(dir, "with-reconcile.mjs"));
  t.same(await plugin.mediaProccess(video, runner), { resume: null, env: "object", fence: "function" });
  t.same(await plugin.reconcile!(video, runner), { status: "not-done", value: null });
  t.same(await plugin.reconcile!(video, { ...runner, resume: { uploadUrl: "u" } }), { status: "done", value: null });

  const viaDefault = await loadPlugin(path.join(dir, "default-export.mjs"));
  t.equal(await viaDefault.mediaProccess(video, runner), "ok");
  t.same(await viaDefault.reconcile!(video, runner), { status: "unknown", value: null });

  await t.rejects(loadPlugin(path.join(dir, "bad-reconcile.mjs")), /exports reconcile, but not as a function reconcile\(video, context\): remove it or make it one/);
  await t.rejects((await loadPlugin(path.join(dir, "garbled-reconcile.mjs"))).reconcile!(video, runner), /reconcile answered "yes"/);
});

t.test("MEDIA_PROCESS_MODULE=builtin:tus and builtin:youtube load the built-in destinations, with their reconcile", async (t) => {
  for (const name of ["tus", "youtube"]) {
    const plugin = await loadPlugin(`builtin:${name}`);
    t.type(plugin.mediaProccess, "function", `builtin:${name}`);
    t.type(plugin.reconcile, "function");
    const logger = { info() {}, warn() {}, error() {}, child: () => logger };
    t.same(await plugin.reconcile!(videoFor("/dev/null"), { signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger }), { status: "not-done", value: null }, "nothing checkpointed: not done");
  }
  await t.rejects(loadPlugin("builtin:vimeo"), /MEDIA_PROCESS_MODULE builtin:vimeo names no built-in destination: use builtin:tus or builtin:youtube, leave it unset for the local destination, or give the path of a module/);
});
