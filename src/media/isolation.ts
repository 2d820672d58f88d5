import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "../log.js";
import type { AttemptOutcome, Video } from "../types.js";
import { describeRejection, toWire, type WireVideo } from "./plugin.js";

/** Which mediaProccess an upload's thread runs: a module's, or the built-in local destination. */
export type PluginSpec = { module: string } | { uploadDir: string; sourceRoots?: string[] };

/** How mediaProccess ended, seen from outside its thread. */
export type UploadRun =
  | { settled: "resolved"; value: unknown }
  | { settled: "rejected"; error: string }
  /** It ended its thread (process.exit), or let an exception or a rejection go unhandled. */
  | { settled: "crashed"; error: string }
  /** Its signal fired and it did not settle in time: its thread was ended. */
  | { settled: "stopped" };

export interface RunContext {
  signal: AbortSignal;
  attempt: number;
  idempotencyKey: string;
  logger: Logger;
}

export type RunUpload = (video: Video, context: RunContext) => Promise<UploadRun>;

/** isolatedUploads' runner, with what it has done so far (for tests and diagnostics). */
export type IsolatedUploads = RunUpload & {
  /** Threads started so far, spares included. */
  threadsStarted(): number;
  /** Uploads that ran in a spare thread, started before they came. */
  spareTaken(): number;
  /** Spare threads ready now, their plug-in loaded. */
  sparesReady(): number;
  /** Spare threads that died before an upload came (never handed out). */
  sparesLost(): number;
};

/** What an upload's thread is created with: the plug-in, loaded before any upload comes. */
export interface ThreadData {
  spec: PluginSpec;
}

/** Messages to an upload's thread: the one upload it runs, then perhaps an abort. */
export type ParentMessage =
  | { type: "run"; video: WireVideo; attempt: number; idempotencyKey: string }
  | { type: "abort"; reason: string };

/** Messages from an upload's thread. */
export type ThreadMessage =
  | { type: "log"; level: "info" | "warn" | "error"; msg: string; fields: Record<string, unknown> }
  | { type: "result"; ok: true; value: unknown }
  | { type: "result"; ok: false; error: string }
  | { type: "crash"; error: string };

const EXTENSION = path.extname(fileURLToPath(import.meta.url));
const THREAD = new URL(`./upload-thread${EXTENSION}`, import.meta.url);

let bundled: Promise<string> | undefined;

/**
 * A new thread. Built JavaScript runs as it is. From TypeScript sources (npm start runs them
 * under tsx), the thread's code is bundled by esbuild once per process into one CommonJS script:
 * a thread that had to register tsx itself (tsx registers its hooks in the main thread only, on
 * Node 20) took five times as long to start, seconds on a busy machine. The parent's --import
 * hooks (a test runner's) are not passed on.
 */
async function newThread(workerData: ThreadData): Promise<Worker> {
  if (EXTENSION !== ".ts") return new Worker(THREAD, { workerData, execArgv: [] });
  bundled ??= import("esbuild").then(async ({ build }) => {
    const result = await build({
      entryPoints: [fileURLToPath(THREAD)], bundle: true, platform: "node", format: "cjs", target: "node20", write: false, logLevel: "silent",
    });
    return result.outputFiles[0]!.text;
  });
  return new Worker(await bundled, { eval: true, workerData, execArgv: [] });
}

/**
 * Runs each upload's mediaProccess in a worker thread of its own, so that whatever it does
 * (process.exit, an exception thrown from a timer, a rejection nobody handles) ends that upload
 * alone. When the signal fires, the plug-in's own signal is aborted; if it has not settled within
 * `settleMs`, its thread is ended, so nothing it does afterwards can reach the outcome.
 *
 * A thread serves one upload and is ended after it. `spares` threads are kept started, their
 * plug-in loaded, so that an upload does not wait for a thread to start (a fifth of a second
 * under tsx); they do not keep the process alive.
 */
export function isolatedUploads(spec: PluginSpec, options: { settleMs?: number; spares?: number } = {}): IsolatedUploads {
  const settleMs = options.settleMs ?? 1000;
  const spares = new Set<Worker>();
  let starting = 0;
  let threadsStarted = 0;
  let spareTaken = 0;
  let sparesLost = 0;
  const addSpare = async () => {
    starting++;
    threadsStarted++;
    const thread = await newThread({ spec }).finally(() => starting--);
    thread.unref();
    spares.add(thread);
    // A spare that dies before its upload comes is never handed out.
    const forget = () => {
      if (spares.delete(thread)) sparesLost++;
    };
    thread.on("error", forget).on("exit", forget);
  };
  const replenish = () => {
    while (spares.size + starting < (options.spares ?? 0)) void addSpare().catch(() => {});
  };
  const take = async (): Promise<Worker> => {
    const [spare] = spares;
    if (spare) {
      spareTaken++;
      spares.delete(spare);
      spare.removeAllListeners("error").removeAllListeners("exit");
      spare.ref();
    }
    replenish();
    if (spare) return spare;
    threadsStarted++;
    return newThread({ spec });
  };
  replenish();

  const runUpload: RunUpload = async (video, { signal, attempt, idempotencyKey, logger }) => {
    if (signal.aborted) return { settled: "stopped" };
    let thread: Worker;
    try {
      thread = await take();
    } catch (error) {
      return { settled: "crashed", error: `the upload's thread could not be started: ${describeRejection(error)}` };
    }
    return new Promise<UploadRun>((resolve) => {
      let settled = false;
      let stopTimer: NodeJS.Timeout | undefined;
      const finish = (run: UploadRun) => {
        if (settled) return;
        settled = true;
        clearTimeout(stopTimer);
        signal.removeEventListener("abort", onAbort);
        resolve(run);
        void thread.terminate();
      };
      const onAbort = () => {
        thread.postMessage({ type: "abort", reason: describeRejection(signal.reason) } satisfies ParentMessage);
        stopTimer = setTimeout(() => finish({ settled: "stopped" }), settleMs);
      };
      thread.on("message", (message: ThreadMessage) => {
        if (message.type === "log") logger[message.level]("media_process", message.msg, message.fields);
        else if (message.type === "crash") finish({ settled: "crashed", error: `mediaProccess crashed: ${message.error}` });
        else if (message.ok) finish({ settled: "resolved", value: message.value });
        else finish({ settled: "rejected", error: message.error });
      });
      thread.on("error", (error) => finish({ settled: "crashed", error: `mediaProccess crashed: ${describeRejection(error)}` }));
      thread.on("exit", (code) =>
        finish(
          signal.aborted
            ? { settled: "stopped" }
            : { settled: "crashed", error: `mediaProccess ended its thread (process.exit(${code})) before the upload finished` },
        ),
      );
      thread.postMessage({ type: "run", video: toWire(video), attempt, idempotencyKey } satisfies ParentMessage);
      // It may have fired while the thread was being started.
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  };
  return Object.assign(runUpload, { threadsStarted: () => threadsStarted, spareTaken: () => spareTaken, sparesReady: () => spares.size, sparesLost: () => sparesLost });
}

/** The outcome to record for a run, and its error text. */
export function outcomeOf(
  run: UploadRun,
  why: { timedOut: boolean; shutDown: boolean; uploadTimeout: string },
): { outcome: AttemptOutcome; error: string | null } {
  // An upload that succeeded is a success, even if its signal fired as it finished.
  if (run.settled === "resolved") return { outcome: "success", error: null };
  if (why.timedOut) return { outcome: "timed_out", error: `upload timed out after ${why.uploadTimeout}` };
  if (why.shutDown) return { outcome: "aborted", error: "upload aborted: the worker shut down" };
  if (run.settled === "stopped") return { outcome: "failed", error: "upload stopped" };
  return { outcome: "failed", error: run.error };
}
