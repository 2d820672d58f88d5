/**
 * One upload's thread (see isolation.ts): loads the plug-in, waits for its one upload, runs
 * mediaProccess, and reports its result, its log lines, or its crash to the parent.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PluginLogger } from "../log.js";
import type { ParentMessage, ThreadData, ThreadMessage } from "./isolation.js";
import { localDestination } from "./local-destination.js";
import { describeRejection, forPlugin, fromWire, loadMediaProcess, type MediaProcess } from "./plugin.js";

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

process.on("uncaughtException", (error) => post({ type: "crash", error: `uncaught exception: ${describeRejection(error)}` }));
process.on("unhandledRejection", (reason) => post({ type: "crash", error: `unhandled rejection: ${describeRejection(reason)}` }));

function threadLogger(base: Record<string, unknown>): PluginLogger {
  const emit = (level: "info" | "warn" | "error") => (msg: string, fields: Record<string, unknown> = {}) =>
    post({ type: "log", level, msg: String(msg), fields: { ...base, ...fields } });
  return { info: emit("info"), warn: emit("warn"), error: emit("error"), child: (fields) => threadLogger({ ...base, ...fields }) };
}

// Loaded before the upload comes; a module that fails to load fails the upload that comes.
const loading: Promise<MediaProcess> = "module" in spec ? loadMediaProcess(spec.module) : Promise.resolve(localDestination(spec.uploadDir, spec.sourceRoots));
loading.catch(() => {});

const controller = new AbortController();
port.on("message", async (message: ParentMessage) => {
  if (message.type === "abort") {
    controller.abort(new Error(message.reason));
    return;
  }
  try {
    const mediaProcess = await loading;
    // Called off while the thread was starting: the plug-in is not called at all.
    controller.signal.throwIfAborted();
    const { video, attempt, idempotencyKey } = message;
    const value = await mediaProcess(forPlugin(fromWire(video)), { signal: controller.signal, attempt, idempotencyKey, logger: threadLogger({}) });
    post({ type: "result", ok: true, value });
  } catch (error) {
    post({ type: "result", ok: false, error: describeRejection(error) });
  }
});
