import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "../log.js";
import type { LeasedOutcome, Video } from "../types.js";
import type { FailureFields } from "./errors.js";
import { describeRejection, toWire, type WireVideo } from "./plugin.js";

/** Which mediaProccess an upload's thread runs: a module's, or the built-in local destination. */
export type PluginSpec = { module: string } | { uploadDir: string; sourceRoots?: string[] };

/** How mediaProccess ended, seen from outside its thread. */
export type UploadRun =
  /** reconciled: the plug-in's reconcile said the platform already has it (no upload ran). */
  | { settled: "resolved"; value: unknown; reconciled?: boolean }
  /** failure: the kind it threw (RetryLater, NeedsReconnect, PermanentFailure); null for any other error. */
  | { settled: "rejected"; error: string; failure?: FailureFields | null }
  /** reconcile could not tell whether an earlier attempt's upload completed (or threw): try later. */
  | { settled: "unknown"; error: string }
  /** It ended its thread (process.exit), or let an exception or a rejection go unhandled. */
  | { settled: "crashed"; error: string }
  /** Its signal fired and it did not settle in time: its thread was ended. */
  | { settled: "stopped" };

/** What the runner lends an upload for its lease: context.fence, context.checkpoint, context.progress. */
export interface LeaseOps {
  fence(): Promise<void>;
  checkpoint(state: unknown): Promise<void>;
  progress(sent: number, total: number | null): void;
}

export interface RunContext {
  signal: AbortSignal;
  attempt: number;
  idempotencyKey: string;
  logger: Logger;
  /** The attempt's lease; without one, fence only checks the signal and checkpoints are not kept. */
  lease?: LeaseOps;
  /** What an earlier attempt checkpointed (videos.resume_state): context.resume. */
  resume?: unknown;
  /** An earlier attempt's outcome is unknown: ask the plug-in's reconcile (when it has one) before uploading. */
  reconcileFirst?: boolean;
  /** The settings the destination reads (context.env); this process's environment when left out. */
  env?: Record<string, string | undefined>;
  /** Where the upload goes: builtin:tus, builtin:youtube, builtin:local or a module path; null or left out: the default. */
  destination?: string | null;
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

/** Messages to an upload's thread: the one upload it runs, answers to its calls, then perhaps an abort. */
export type ParentMessage =
  | {
      type: "run";
      video: WireVideo;
      attempt: number;
      idempotencyKey: string;
      resume: unknown;
      reconcileFirst: boolean;
      leased: boolean;
      env: Record<string, string | undefined> | null;
    }
  | { type: "reply"; id: number; ok: true }
  | { type: "reply"; id: number; ok: false; error: string; name: string }
  | { type: "abort"; reason: string };

/** Messages from an upload's thread. */
export type ThreadMessage =
  | { type: "log"; level: "info" | "warn" | "error"; msg: string; fields: Record<string, unknown> }
  | { type: "progress"; sent: number; total: number | null }
  | { type: "call"; id: number; op: "fence" }
  | { type: "call"; id: number; op: "checkpoint"; state: unknown }
  | { type: "result"; ok: true; value: unknown; reconciled: boolean }
  | { type: "result"; ok: false; error: string; failure: FailureFields | null }
  | { type: "unknown"; error: string }
  | { type: "crash"; error: string };

/** Log lines an upload's thread may send per second before the rest of that second's are dropped (and counted). */
export const LOG_LINES_PER_SECOND = 200;

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
  return new Worker(await bundledThread(), { eval: true, workerData, execArgv: [] });
}

function bundledThread(): Promise<string> {
  bundled ??= import("esbuild").then(async ({ build }) => {
    const result = await build({
      entryPoints: [fileURLToPath(THREAD)], bundle: true, platform: "node", format: "cjs", target: "node20", write: false, logLevel: "silent",
    });
    return result.outputFiles[0]!.text;
  });
  return bundled;
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

  const runUpload: RunUpload = async (video, context) => {
    const { signal, attempt, idempotencyKey, logger, lease } = context;
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
      // A plug-in that logs without pause is cut to LOG_LINES_PER_SECOND; what it dropped is said once a second.
      let second = 0;
      let lines = 0;
      let dropped = 0;
      const finish = (run: UploadRun) => {
        if (settled) return;
        settled = true;
        clearTimeout(stopTimer);
        signal.removeEventListener("abort", onAbort);
        if (dropped) logger.warn("media_process_log_dropped", "log lines of the plug-in dropped: it logged faster than allowed", { dropped, per_second: LOG_LINES_PER_SECOND });
        resolve(run);
        void thread.terminate();
      };
      const onAbort = () => {
        thread.postMessage({ type: "abort", reason: describeRejection(signal.reason) } satisfies ParentMessage);
        stopTimer = setTimeout(() => finish({ settled: "stopped" }), settleMs);
      };
      const reply = (id: number, work: Promise<void>) =>
        work.then(
          () => !settled && thread.postMessage({ type: "reply", id, ok: true } satisfies ParentMessage),
          (error: unknown) =>
            !settled &&
            thread.postMessage({
              type: "reply", id, ok: false, error: describeRejection(error), name: (error as Error)?.name ?? "Error",
            } satisfies ParentMessage),
        );
      const logLine = (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) => {
        const now = Math.floor(performance.now() / 1000);
        if (now !== second) {
          if (dropped) logger.warn("media_process_log_dropped", "log lines of the plug-in dropped: it logged faster than allowed", { dropped, per_second: LOG_LINES_PER_SECOND });
          second = now;
          lines = 0;
          dropped = 0;
        }
        if (++lines > LOG_LINES_PER_SECOND) dropped++;
        else logger[level]("media_process", msg, fields);
      };
      thread.on("message", (message: ThreadMessage) => {
        switch (message.type) {
          case "log":
            logLine(message.level, message.msg, message.fields);
            return;
          case "progress":
            lease?.progress(message.sent, message.total);
            return;
          case "call":
            if (message.op === "fence") void reply(message.id, lease ? lease.fence() : Promise.resolve(signal.throwIfAborted()));
            else void reply(message.id, lease ? lease.checkpoint(message.state) : Promise.resolve());
            return;
          case "crash":
            return finish({ settled: "crashed", error: `mediaProccess crashed: ${message.error}` });
          case "unknown":
            return finish({ settled: "unknown", error: message.error });
          case "result":
            return finish(
              message.ok
                ? { settled: "resolved", value: message.value, ...(message.reconciled ? { reconciled: true } : {}) }
                : { settled: "rejected", error: message.error, ...(message.failure ? { failure: message.failure } : {}) },
            );
        }
      });
      thread.on("error", (error) => finish({ settled: "crashed", error: `mediaProccess crashed: ${describeRejection(error)}` }));
      thread.on("exit", (code) =>
        finish(
          signal.aborted
            ? { settled: "stopped" }
            : { settled: "crashed", error: `mediaProccess ended its thread (process.exit(${code})) before the upload finished` },
        ),
      );
      thread.postMessage({
        type: "run", video: toWire(video), attempt, idempotencyKey, resume: context.resume ?? null,
        reconcileFirst: context.reconcileFirst ?? false, leased: Boolean(lease), env: context.env ?? null,
      } satisfies ParentMessage);
      // It may have fired while the thread was being started.
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  };
  return Object.assign(runUpload, { threadsStarted: () => threadsStarted, spareTaken: () => spareTaken, sparesReady: () => spares.size, sparesLost: () => sparesLost });
}

/**
 * The environment a destination sees for a user's credentials name: VAR__NAME, where set, in
 * place of VAR (TUS_HEADERS__ACME for TUS_HEADERS). The secrets stay in the environment; the
 * database holds only the name.
 */
export function credentialsEnv(env: Record<string, string | undefined>, name: string | null): Record<string, string | undefined> {
  if (!name) return env;
  const suffix = `__${name}`;
  const view = { ...env };
  for (const [key, value] of Object.entries(env)) {
    if (key.endsWith(suffix) && key.length > suffix.length) view[key.slice(0, -suffix.length)] = value;
  }
  return view;
}

/**
 * One runner serving every destination: the default spec's threads (with their spares), and, for
 * a video or user that names another destination, threads of that one, made when first needed.
 */
export function destinationUploads(defaultSpec: PluginSpec, options: { settleMs?: number; spares?: number; uploadDir: string; sourceRoots?: string[] }): IsolatedUploads {
  const byDestination = new Map<string, IsolatedUploads>();
  const fallback = isolatedUploads(defaultSpec, options);
  const runUpload: RunUpload = (video, context) => {
    const destination = context.destination ?? null;
    if (!destination) return fallback(video, context);
    let run = byDestination.get(destination);
    if (!run) {
      const spec: PluginSpec = destination === "builtin:local" ? { uploadDir: options.uploadDir, sourceRoots: options.sourceRoots } : { module: destination };
      run = isolatedUploads(spec, { settleMs: options.settleMs });
      byDestination.set(destination, run);
    }
    return run(video, context);
  };
  const all = () => [fallback, ...byDestination.values()];
  return Object.assign(runUpload, {
    threadsStarted: () => all().reduce((n, r) => n + r.threadsStarted(), 0),
    spareTaken: () => fallback.spareTaken(),
    sparesReady: () => fallback.sparesReady(),
    sparesLost: () => fallback.sparesLost(),
  });
}

/** The outcome to record for a run, its error text, and for a retry-later when to try again (null: the runner's cool-down). */
export function outcomeOf(
  run: UploadRun,
  why: { timedOut: boolean; shutDown: boolean; uploadTimeout: string },
): { outcome: LeasedOutcome; error: string | null; retryAt?: Date | null } {
  // An upload that succeeded is a success, even if its signal fired as it finished.
  if (run.settled === "resolved") return { outcome: "success", error: null };
  if (run.settled === "unknown") return { outcome: "unknown", error: run.error, retryAt: null };
  if (run.settled === "rejected" && run.failure) {
    const { kind, message, until } = run.failure;
    if (kind === "retry-later") return { outcome: "retry_later", error: message || "the destination asked to retry later", retryAt: until ? new Date(until) : null };
    if (kind === "needs-reconnect") return { outcome: "needs_reconnect", error: message || "the destination refused the credentials" };
    return { outcome: "permanent", error: message || "the destination refused the video for good" };
  }
  if (why.timedOut) return { outcome: "timed_out", error: `upload timed out after ${why.uploadTimeout}` };
  if (why.shutDown) return { outcome: "aborted", error: "upload aborted: the worker shut down" };
  if (run.settled === "stopped") return { outcome: "failed", error: "upload stopped" };
  return { outcome: "failed", error: run.error };
}
