/**
 * The built-in tus destination (MEDIA_PROCESS_MODULE=builtin:tus): uploads the video's file to
 * a tus server (https://tus.io/protocols/resumable-upload) with tus-js-client, the protocol's
 * reference client, streaming one chunk at a time from disk.
 *
 * Exactly once at the destination: the upload's URL is checkpointed before any byte is sent, so
 * a later attempt (after a crash, on another worker) continues from the server's offset instead
 * of starting again; the request that sends the last bytes goes only after `context.fence()`
 * said this attempt still holds its lease; and `reconcile` asks the server whether an upload
 * whose outcome is unknown completed.
 *
 * Settings (context.env): TUS_ENDPOINT (required), TUS_CHUNK_SIZE (bytes, default 8 MiB),
 * TUS_HEADERS (a JSON object of extra request headers), TUS_RETRY_DELAYS (ms before each retry
 * of a failed request within the attempt, default "0,1000,3000,5000"; "none" for no retry).
 */
import { createReadStream, type ReadStream } from "node:fs";
import { Upload, type DetailedError, type HttpRequest, type HttpResponse } from "tus-js-client";
import { NeedsReconnect, PermanentFailure, RetryLater } from "../errors.js";
import type { MediaProcessContext, MediaVideo, ReconcileAnswer } from "../plugin.js";
import { abortedError, byteSetting, excerpt, retryAfter, retryDelaysSetting, sourceFile, urlSetting, type Env } from "./common.js";

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
/**
 * The file is read 1 MiB at a time (Node's default is 64 KiB): a chunk of 8 MiB goes out in 8
 * socket writes, not 128, each through tus-js-client's progress stream. One such buffer per
 * upload in flight; memory stays flat however large the file.
 */
export const READ_BUFFER = 1024 * 1024;
const DEFAULT_RETRY_DELAYS = [0, 1000, 3000, 5000];

/** What an attempt checkpoints: enough for the next one to continue the same upload. */
export interface TusResumeState {
  uploadUrl: string;
  endpoint: string;
  size: number;
}

/** What the destination resolves to: the upload as the server named it. */
export interface TusResult {
  remoteId: string;
  remoteUrl: string;
}

/** TUS_HEADERS: a JSON object whose values are strings. */
export function tusHeaders(env: Env): Record<string, string> {
  const text = env.TUS_HEADERS?.trim();
  if (!text) return {};
  let headers: unknown;
  try {
    headers = JSON.parse(text);
  } catch (error) {
    throw new Error(`TUS_HEADERS is not JSON (${(error as Error).message}): set it to a JSON object of header names and values, e.g. {"Authorization":"Bearer …"}`);
  }
  if (typeof headers !== "object" || headers === null || Array.isArray(headers) || Object.values(headers).some((value) => typeof value !== "string")) {
    throw new Error(`TUS_HEADERS must be a JSON object whose values are strings, e.g. {"Authorization":"Bearer …"}; it is ${text.slice(0, 100)}`);
  }
  return headers as Record<string, string>;
}

function resumeState(resume: unknown): TusResumeState | null {
  if (typeof resume !== "object" || resume === null) return null;
  const { uploadUrl, endpoint, size } = resume as Partial<TusResumeState>;
  return typeof uploadUrl === "string" && typeof endpoint === "string" && typeof size === "number" ? { uploadUrl, endpoint, size } : null;
}

function result(uploadUrl: string): TusResult {
  const segments = new URL(uploadUrl).pathname.split("/").filter(Boolean);
  return { remoteId: decodeURIComponent(segments.at(-1) ?? uploadUrl), remoteUrl: uploadUrl };
}

/**
 * Reads the file in chunks as tus-js-client asks for them (memory stays flat however large the
 * file), and remembers the streams it opened, so none stays open when the upload stops early.
 */
function chunkedFile(file: string, size: number, onError: (error: Error) => void) {
  const open = new Set<ReadStream>();
  return {
    reader: {
      openFile: async () => ({
        size,
        slice: async (start: number, end: number) => {
          // createReadStream's end is inclusive; tus-js-client reads `size` for Content-Length.
          const stream = Object.assign(createReadStream(file, { start, end: end - 1, highWaterMark: READ_BUFFER }), { size: end - start });
          open.add(stream);
          stream.once("close", () => open.delete(stream));
          // tus-js-client pipes the chunk without listening for its errors: a file that vanished would crash the thread.
          stream.once("error", onError);
          return { value: stream, done: end >= size };
        },
        close: () => {},
      }),
    },
    closeAll: () => {
      for (const stream of open) stream.off("error", onError).on("error", () => {}).destroy();
    },
  };
}

/** The error classes an answer means, or null when tus-js-client should handle it (retry, new upload). */
function refusal(request: HttpRequest, response: HttpResponse): Error | null {
  const status = response.getStatus();
  const what = `the tus server answered ${status} to ${request.getMethod()} ${request.getURL()}`;
  const said = excerpt(response.getBody());
  if (status === 429 || (status === 503 && response.getHeader("Retry-After"))) {
    const until = retryAfter(response.getHeader("Retry-After"));
    return new RetryLater(`${what}: try again after ${until.toISOString()}${said ? ` (${said})` : ""}`, { until });
  }
  if (status === 401 || status === 403) {
    return new NeedsReconnect(`${what}: it refused the credentials; renew them in TUS_HEADERS${said ? ` (${said})` : ""}`);
  }
  // A HEAD carries none of the video: a 4xx there means the server no longer knows the upload, and a new one is made.
  if (request.getMethod() !== "HEAD" && (status === 400 || status === 413 || status === 415)) {
    return new PermanentFailure(`${what}: it will not take this file as it is${said ? ` (${said})` : ""}`);
  }
  return null;
}

/** Uploads `video.source_path` to TUS_ENDPOINT; resolves to `{ remoteId, remoteUrl }`. */
export async function mediaProccess(video: MediaVideo, context: MediaProcessContext): Promise<TusResult> {
  const { signal, env } = context;
  signal.throwIfAborted();
  const endpoint = urlSetting(env, "TUS_ENDPOINT");
  const chunkSize = byteSetting(env, "TUS_CHUNK_SIZE", DEFAULT_CHUNK_SIZE);
  const headers = tusHeaders(env);
  const retryDelays = retryDelaysSetting(env, "TUS_RETRY_DELAYS", DEFAULT_RETRY_DELAYS);
  const source = await sourceFile(video);
  const what = `the tus upload of video ${video.id}`;
  signal.throwIfAborted();

  // The previous attempt's upload, when it is this file at this server.
  const previous = resumeState(context.resume);
  const resumeUrl = previous && previous.endpoint === endpoint && previous.size === source.size ? previous.uploadUrl : null;
  const metadata: Record<string, string> = { filename: source.name, video_id: video.id };
  if (video.title) metadata.title = video.title;

  return new Promise<TusResult>((resolve, reject) => {
    // Errors our hooks threw: they end the upload as they are, and are not retried.
    const ours = new WeakSet<object>();
    const stop = (error: Error) => {
      ours.add(error);
      return error;
    };
    let checkpointed: string | null = resumeUrl;
    let checkpointing: Promise<void> = Promise.resolve();
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      void upload.abort();
      file.closeAll();
      settle();
    };
    const onAbort = () => finish(() => reject(abortedError(signal, what)));
    const file = chunkedFile(source.path, source.size, (error) =>
      finish(() => reject(new Error(`${what} could not read its source file ${source.path}: ${error.message}`, { cause: error }))),
    );

    // Our fileReader reads the path; tus-js-client's types know only browser files and Buffers.
    const upload = new Upload(source.path as unknown as Buffer, {
      endpoint,
      uploadUrl: resumeUrl,
      uploadSize: source.size,
      chunkSize,
      metadata,
      headers,
      retryDelays,
      fileReader: file.reader,
      storeFingerprintForResuming: false,
      onUploadUrlAvailable: () => {
        const uploadUrl = upload.url!;
        if (uploadUrl === checkpointed) return;
        checkpointed = uploadUrl;
        checkpointing = context.checkpoint({ uploadUrl, endpoint, size: source.size } satisfies TusResumeState);
        checkpointing.catch(() => {});
      },
      onBeforeRequest: async (request) => {
        const method = request.getMethod();
        const completes =
          method === "PATCH"
            ? Number(request.getHeader("Upload-Offset")) + chunkSize >= source.size
            : method === "POST" && source.size === 0;
        if (method === "PATCH") {
          // The next attempt must find this upload: its URL is kept before its bytes are sent.
          await checkpointing.catch((error: Error) => {
            throw stop(new Error(`${what} could not checkpoint its upload URL, so it did not send the file: ${error.message}`, { cause: error }));
          });
        }
        if (completes) {
          await context.fence().catch((error: unknown) => {
            const reason = error instanceof Error ? error.message : String(error);
            throw stop(new Error(`${what} stopped before its last chunk: this attempt no longer holds its lease (${reason})`, { cause: error }));
          });
        }
        // Called off while we waited: tus-js-client would still send this request.
        if (settled) throw stop(abortedError(signal, what));
      },
      onAfterResponse: async (request, response) => {
        const error = refusal(request, response);
        if (error) throw stop(error);
      },
      onShouldRetry: (error) => {
        if (signal.aborted || (error.causingError && ours.has(error.causingError))) return false;
        const status = error.originalResponse?.getStatus() ?? 0;
        // Network errors and 5xx pass; so do 409 (offset mismatch) and 423 (locked), which a HEAD sorts out.
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      onChunkComplete: (_chunk, accepted, total) => context.progress(accepted, total),
      onSuccess: () => {
        context.progress(source.size, source.size);
        finish(() => resolve(result(upload.url!)));
      },
      onError: (error) => finish(() => reject(explain(error as DetailedError, what, ours))),
    });
    signal.addEventListener("abort", onAbort, { once: true });
    upload.start();
  });
}

/** tus-js-client's error as what the runner acts on: ours as thrown, else a transient Error that says what happened. */
function explain(error: DetailedError, what: string, ours: WeakSet<object>): Error {
  if (error.causingError && ours.has(error.causingError)) return error.causingError;
  const request = error.originalRequest ? `${error.originalRequest.getMethod()} ${error.originalRequest.getURL()}` : "a request";
  const status = error.originalResponse?.getStatus() ?? 0;
  if (status >= 300) {
    const said = excerpt(error.originalResponse!.getBody());
    return new Error(`${what} failed: the tus server answered ${status} to ${request}${said ? ` (${said})` : ""}`, { cause: error });
  }
  if (error.causingError) {
    return new Error(`${what} failed: ${request} did not get an answer (${error.causingError.message})`, { cause: error });
  }
  // An answer that breaks the protocol (no offset, no Location): tus-js-client's own words, without its request dump.
  const short = error.message.replace(/, originated from request.*$/s, "");
  return new Error(`${what} failed: ${short}${status ? ` (${request} answered ${status})` : ""}`, { cause: error });
}

/**
 * After an attempt whose outcome is unknown: asks the server (HEAD) about the upload the attempt
 * checkpointed. Complete → done, with what mediaProccess would have resolved to; incomplete, gone
 * (404/410) or never made → not-done; no answer, or another status → unknown.
 */
export async function reconcile(video: MediaVideo, context: MediaProcessContext): Promise<ReconcileAnswer> {
  const state = resumeState(context.resume);
  if (!state) return "not-done";
  const headers = { ...tusHeaders(context.env), "Tus-Resumable": "1.0.0" };
  let response: Response;
  try {
    response = await fetch(state.uploadUrl, { method: "HEAD", headers, signal: context.signal });
  } catch (error) {
    context.logger.warn("tus reconcile: the server did not answer", { video_id: video.id, upload_url: state.uploadUrl, error: (error as Error).message });
    return "unknown";
  }
  if (response.status === 404 || response.status === 410) return "not-done";
  if (!response.ok) return "unknown";
  const offset = Number(response.headers.get("Upload-Offset"));
  const length = Number(response.headers.get("Upload-Length"));
  if (response.headers.get("Upload-Length") !== null && offset === length) return { status: "done", value: result(state.uploadUrl) };
  return "not-done";
}
