/**
 * One upload's thread (see isolation.ts): loads the plug-in, waits for its one upload, runs
 * mediaProccess, and reports its result, its log lines, or its crash to the parent.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PluginLogger } from "../log.js";
import type { ParentMessage, ThreadData, ThreadMessage } from "./isolation.js";
import { localDestination } from "./local-destination.js";
import { failureFields } from "./errors.js";
import { describeRejection, forPlugin, fromWire, loadPlugin, type Plugin, type RunnerContext } from "./plugin.js";

const port = parentPort!;
const { spec } = workerData as ThreadData;

/** A value as it can cross to the parent: itself when it clones, else its JSON, else its text. */
function cloneable(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    try {
      return JSON.parse(JSON.stringify(value));
    } catch {
      return String(value);
    }
  }
}

const post = (message: ThreadMessage) => port.postMessage(cloneable(message));

// What the plug-in prints (console.log, process.stdout.write) goes to the runner as log lines, on
// the same channel as its logger's and under the same cap, rather than to the process's stdout,
// where a plug-in printing without pause would pile up in the worker's memory.
for (const [stream, level, name] of [[process.stdout, "info", "stdout"], [process.stderr, "warn", "stderr"]] as const) {
  let partial = "";
  stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const text = partial + (typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    const parts = text.split("\n");
    partial = parts.pop()!.slice(0, 2000);
    for (const line of parts) if (line) post({ type: "log", level, msg: line.slice(0, 2000), fields: { stream: name } });
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}

process.on("uncaughtException", (error) => post({ type: "crash", error: `uncaught exception: ${describeRejection(error)}` }));
process.on("unhandledRejection", (reason) => post({ type: "crash", error: `unhandled rejection: ${describeRejection(reason)}` }));

function threadLogger(base: Record<string, unknown>): PluginLogger {
  const emit = (level: "info" | "warn" | "error") => (msg: string, fields: Record<string, unknown> = {}) =>
    post({ type: "log", level, msg: String(msg), fields: { ...base, ...fields } });
  return { info: emit("info"), warn: emit("warn"), error: emit("error"), child: (fields) => threadLogger({ ...base, ...fields }) };
}

// Loaded before the upload comes; a module that fails to load fails the upload that comes.
const loading: Promise<Plugin> =
  "module" in spec ? loadPlugin(spec.module) : Promise.resolve({ mediaProccess: localDestination(spec.uploadDir, spec.sourceRoots), reconcile: null });
loading.catch(() => {});

const controller = new AbortController();

// The runner's side of fence and checkpoint: a call, answered by a reply with the same id.
let calls = 0;
const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
function call(message: { op: "fence" } | { op: "checkpoint"; state: unknown }): Promise<void> {
  const id = ++calls;
  return new Promise<void>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    post({ type: "call", id, ...message } as ThreadMessage);
  });
}

// Progress goes to the runner at most every 250 ms, and always the last figure.
const PROGRESS_EVERY_MS = 250;
let lastProgress = 0;
let pendingProgress: NodeJS.Timeout | undefined;
let progressNow: { sent: number; total: number | null } | null = null;
function progress(sent: number, total: number | null): void {
  progressNow = { sent: Number(sent), total: total === null || total === undefined ? null : Number(total) };
  const send = () => {
    pendingProgress = undefined;
    lastProgress = performance.now();
    if (progressNow) post({ type: "progress", ...progressNow });
  };
  if (performance.now() - lastProgress >= PROGRESS_EVERY_MS) send();
  else pendingProgress ??= setTimeout(send, PROGRESS_EVERY_MS);
}

port.on("message", async (message: ParentMessage) => {
  if (message.type === "abort") {
    controller.abort(new Error(message.reason));
    return;
  }
  if (message.type === "reply") {
    const call = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.ok) call?.resolve();
    else call?.reject(Object.assign(new Error(message.error), { name: message.name }));
    return;
  }
  const { attempt, idempotencyKey, resume, reconcileFirst, leased, env } = message;
  const video = forPlugin(fromWire(message.video));
  const context: RunnerContext = {
    signal: controller.signal,
    attempt,
    idempotencyKey,
    logger: threadLogger({}),
    resume,
    progress,
    env: env ?? process.env,
    ...(leased ? { fence: () => call({ op: "fence" }), checkpoint: (state: unknown) => call({ op: "checkpoint", state }) } : {}),
  };
  let plugin: Plugin;
  try {
    plugin = await loading;
    // Called off while the thread was starting: the plug-in is not called at all.
    controller.signal.throwIfAborted();
  } catch (error) {
    post({ type: "result", ok: false, error: describeRejection(error), failure: null });
    return;
  }
  if (reconcileFirst && plugin.reconcile) {
    try {
      const { status, value } = await plugin.reconcile(video, context);
      if (status === "done") {
        post({ type: "result", ok: true, value, reconciled: true });
        return;
      }
      if (status === "unknown") {
        post({ type: "unknown", error: "reconcile could not tell whether an earlier attempt's upload completed" });
        return;
      }
    } catch (error) {
      post({ type: "unknown", error: `reconcile failed: ${describeRejection(error)}` });
      return;
    }
  }
  try {
    const value = await plugin.mediaProccess(video, context);
    if (pendingProgress) {
      clearTimeout(pendingProgress);
      if (progressNow) post({ type: "progress", ...progressNow });
    }
    post({ type: "result", ok: true, value, reconciled: false });
  } catch (error) {
    post({ type: "result", ok: false, error: describeRejection(error), failure: failureFields(error) });
  }
});
