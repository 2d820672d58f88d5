/**
 * The built-in YouTube destination (MEDIA_PROCESS_MODULE=builtin:youtube): videos.insert of the
 * YouTube Data API v3 through Google's resumable upload protocol
 * (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol), one chunk at
 * a time from disk.
 *
 * Exactly once at the destination: the session URI is checkpointed as soon as YouTube gives it,
 * so a later attempt asks where the session is (a status query) and continues from there; the
 * last chunk, which publishes the video, is sent only after `context.fence()`; and `reconcile`
 * asks the session whether an upload whose outcome is unknown completed.
 *
 * Settings (context.env): YOUTUBE_CLIENT_ID, YOUTUBE_CLIENT_SECRET, YOUTUBE_REFRESH_TOKEN (an
 * OAuth refresh token with the youtube.upload scope), YOUTUBE_TOKEN_URL, YOUTUBE_API_BASE,
 * YOUTUBE_CHUNK_SIZE (a multiple of 256 KiB, default 8 MiB), YOUTUBE_RETRY_DELAYS (ms before each
 * retry within the attempt after a network error or a 5xx, default "0,1000,3000,5000").
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DateTime } from "luxon";
import { NeedsReconnect, PermanentFailure, RetryLater } from "../errors.js";
import type { MediaProcessContext, MediaVideo, ReconcileAnswer } from "../plugin.js";
import { BodyReadError, abortedError, byteSetting, excerpt, httpRequest, retryAfter, retryDelaysSetting, sourceFile, urlSetting, type Env, type HttpAnswer } from "./common.js";

/** Every chunk but the last must be a multiple of this, as the protocol requires. */
export const CHUNK_UNIT = 256 * 1024;
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
const DEFAULT_RETRY_DELAYS = [0, 1000, 3000, 5000];
const PRIVACY = new Set(["private", "unlisted", "public"]);
const CONTENT_TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".m4v": "video/mp4",
  ".mov": "video/quicktime",
  ".webm": "video/webm",
  ".mkv": "video/x-matroska",
  ".avi": "video/x-msvideo",
  ".mpg": "video/mpeg",
  ".mpeg": "video/mpeg",
  ".wmv": "video/x-ms-wmv",
  ".flv": "video/x-flv",
  ".3gp": "video/3gpp",
};

/** What an attempt checkpoints: the session, and the size it was opened for. */
export interface YouTubeResumeState {
  sessionUri: string;
  size: number;
}

export interface YouTubeResult {
  remoteId: string;
  remoteUrl: string;
}

interface Settings {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  tokenUrl: string;
  apiBase: string;
  chunkSize: number;
  retryDelays: number[];
}

function settings(env: Env): Settings {
  const missing = ["YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET", "YOUTUBE_REFRESH_TOKEN"].filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not set: the YouTube destination needs the OAuth client's id and secret ` +
        `and the channel's refresh token (scope https://www.googleapis.com/auth/youtube.upload)`,
    );
  }
  return {
    clientId: env.YOUTUBE_CLIENT_ID!.trim(),
    clientSecret: env.YOUTUBE_CLIENT_SECRET!.trim(),
    refreshToken: env.YOUTUBE_REFRESH_TOKEN!.trim(),
    tokenUrl: urlSetting(env, "YOUTUBE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
    apiBase: urlSetting(env, "YOUTUBE_API_BASE", "https://www.googleapis.com"),
    chunkSize: chunkSizeSetting(env),
    retryDelays: retryDelaysSetting(env, "YOUTUBE_RETRY_DELAYS", DEFAULT_RETRY_DELAYS),
  };
}

/** YOUTUBE_CHUNK_SIZE, rounded down to a multiple of 256 KiB. */
function chunkSizeSetting(env: Env): number {
  try {
    return Math.floor(byteSetting(env, "YOUTUBE_CHUNK_SIZE", DEFAULT_CHUNK_SIZE, CHUNK_UNIT) / CHUNK_UNIT) * CHUNK_UNIT;
  } catch {
    throw new Error(
      `YOUTUBE_CHUNK_SIZE must be a whole number of bytes, at least 262144 (256 KiB; it is rounded down to a multiple of 256 KiB, as YouTube requires); ` +
        `it is ${JSON.stringify(env.YOUTUBE_CHUNK_SIZE)}. Unset it for the default, ${DEFAULT_CHUNK_SIZE}.`,
    );
  }
}

/** The first instant of the next day in America/Los_Angeles, when YouTube's daily quota starts again. */
export function nextPacificMidnight(now: Date = new Date()): Date {
  return DateTime.fromJSDate(now).setZone("America/Los_Angeles").startOf("day").plus({ days: 1 }).toJSDate();
}

/** The video resource for videos.insert (snippet and status), from videos.metadata and the row. */
export function videoResource(video: MediaVideo, fileName: string, logger?: MediaProcessContext["logger"]): { snippet: Record<string, unknown>; status: Record<string, unknown> } {
  const given = video.metadata ?? {};
  const refuse = (what: string) => new PermanentFailure(`videos.metadata of video ${video.id}: ${what}`);
  if (typeof given !== "object" || Array.isArray(given)) throw refuse(`must be a JSON object (title, description, tags, privacyStatus, publishAt, categoryId); it is ${JSON.stringify(given)}`);
  const { title, description, tags, categoryId, privacyStatus, publishAt } = given as Record<string, unknown>;
  if (title !== undefined && title !== null && typeof title !== "string") throw refuse(`title must be text; it is ${JSON.stringify(title)}`);
  if (description !== undefined && description !== null && typeof description !== "string") throw refuse(`description must be text; it is ${JSON.stringify(description)}`);
  if (tags !== undefined && tags !== null && !(Array.isArray(tags) && tags.every((tag) => typeof tag === "string"))) {
    throw refuse(`tags must be an array of text, e.g. ["trailer","launch"]; it is ${JSON.stringify(tags)}`);
  }
  if (categoryId !== undefined && categoryId !== null && typeof categoryId !== "string" && typeof categoryId !== "number") {
    throw refuse(`categoryId must be a YouTube category id such as "22"; it is ${JSON.stringify(categoryId)}`);
  }
  if (privacyStatus !== undefined && privacyStatus !== null && !PRIVACY.has(privacyStatus as string)) {
    throw refuse(`privacyStatus must be "private", "unlisted" or "public"; it is ${JSON.stringify(privacyStatus)}`);
  }
  let publish: string | null = null;
  if (publishAt !== undefined && publishAt !== null) {
    const instant = typeof publishAt === "string" ? DateTime.fromISO(publishAt, { setZone: true }) : null;
    if (!instant?.isValid) throw refuse(`publishAt must be an ISO 8601 instant such as "2026-12-01T18:00:00Z"; it is ${JSON.stringify(publishAt)}`);
    publish = instant.toUTC().toISO();
  }
  let privacy = (privacyStatus as string | undefined | null) ?? "private";
  // The API schedules only private videos: publishAt makes it private until then.
  if (publish !== null && privacy !== "private") {
    logger?.warn("youtube: publishAt is set, so privacyStatus is private until then", { video_id: video.id, privacy_status: privacy, publish_at: publish });
    privacy = "private";
  }
  const snippet: Record<string, unknown> = { title: (title as string | undefined | null) ?? video.title ?? path.parse(fileName).name };
  if (typeof description === "string") snippet.description = description;
  if (Array.isArray(tags)) snippet.tags = tags;
  if (categoryId !== undefined && categoryId !== null) snippet.categoryId = String(categoryId);
  return { snippet, status: publish === null ? { privacyStatus: privacy } : { privacyStatus: privacy, publishAt: publish } };
}

function resumeState(resume: unknown): YouTubeResumeState | null {
  if (typeof resume !== "object" || resume === null) return null;
  const { sessionUri, size } = resume as Partial<YouTubeResumeState>;
  return typeof sessionUri === "string" && typeof size === "number" ? { sessionUri, size } : null;
}

/** A JSON body, or null when it is not JSON. */
function json(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Google's error body: the API's `{ error: { message, errors: [{ reason }] } }` (reasons such as
 * quotaExceeded, invalidTitle), or the token endpoint's `{ error, error_description }`.
 */
function googleError(body: string): { reasons: string[]; message: string } {
  const parsed = json(body);
  const error = parsed?.error;
  if (typeof error === "string") return { reasons: [error], message: typeof parsed?.error_description === "string" ? parsed.error_description : error };
  const { message, errors } = (typeof error === "object" && error !== null ? error : {}) as { message?: unknown; errors?: unknown };
  const reasons = Array.isArray(errors) ? errors.map((e: { reason?: unknown }) => e?.reason).filter((r): r is string => typeof r === "string") : [];
  return { reasons, message: typeof message === "string" ? message : excerpt(body) };
}

/** The session's state, from the answer to a status query or a chunk. */
type SessionState = { done: YouTubeResult } | { offset: number } | { gone: true };

/** One attempt's conversation with YouTube: its access token, and what each answer means. */
class YouTubeApi {
  private accessToken: string | null = null;

  get hasToken(): boolean {
    return this.accessToken !== null;
  }
  /** Errors that end a try but not the attempt: a network error, a 5xx. */
  readonly transient = new WeakSet<Error>();

  constructor(
    private readonly settings: Settings,
    private readonly signal: AbortSignal,
    private readonly what: string,
  ) {}

  /** Exchanges the refresh token for an access token. */
  async refresh(): Promise<void> {
    const { clientId, clientSecret, refreshToken, tokenUrl } = this.settings;
    const form = new URLSearchParams({ client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken, grant_type: "refresh_token" }).toString();
    const answer = await this.request("POST", tokenUrl, { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(form) }, () => form);
    const token = answer.status === 200 ? json(answer.body)?.access_token : undefined;
    if (typeof token === "string" && token) {
      this.accessToken = token;
      return;
    }
    const { reasons, message } = googleError(answer.body);
    if (answer.status === 400 || answer.status === 401) {
      throw new NeedsReconnect(
        `${this.what}: the OAuth token endpoint refused the refresh token (${answer.status} ${reasons.join(", ") || "refused"}: ${message}); ` +
          `reconnect the YouTube channel and set YOUTUBE_REFRESH_TOKEN (and YOUTUBE_CLIENT_ID, YOUTUBE_CLIENT_SECRET) anew`,
      );
    }
    throw this.failure(answer, `POST ${tokenUrl}`);
  }

  /** A request with the access token; after a 401, one refresh and one more try, then NeedsReconnect. */
  async call(method: string, url: string, headers: Record<string, string | number>, body: () => string | Readable | null): Promise<HttpAnswer> {
    for (let refreshed = false; ; refreshed = true) {
      const answer = await this.request(method, url, { ...headers, Authorization: `Bearer ${this.accessToken}` }, body);
      if (answer.status !== 401) return answer;
      if (refreshed) {
        const { reasons, message } = googleError(answer.body);
        throw new NeedsReconnect(
          `${this.what}: YouTube refused a freshly refreshed access token (401 ${reasons.join(", ") || "unauthorized"}: ${message}); ` +
            `reconnect the YouTube channel and set YOUTUBE_REFRESH_TOKEN anew`,
        );
      }
      await this.refresh();
    }
  }

  private async request(method: string, url: string, headers: Record<string, string | number>, body: () => string | Readable | null): Promise<HttpAnswer> {
    if (this.signal.aborted) throw abortedError(this.signal, this.what);
    try {
      return await httpRequest(url, { method, headers, body: body(), signal: this.signal });
    } catch (error) {
      if (this.signal.aborted) throw abortedError(this.signal, this.what);
      if (error instanceof BodyReadError) throw new Error(`${this.what} could not read its source file: ${error.message}`, { cause: error });
      const failure = new Error(`${this.what} failed: ${method} ${url} did not get an answer (${(error as Error).message})`, { cause: error });
      this.transient.add(failure);
      throw failure;
    }
  }

  /** Opens an upload session for `size` bytes; resolves to its URI. */
  async createSession(resource: object, size: number, contentType: string): Promise<string> {
    const url = `${this.settings.apiBase.replace(/\/$/, "")}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`;
    const json = JSON.stringify(resource);
    const answer = await this.call(
      "POST",
      url,
      { "Content-Type": "application/json; charset=UTF-8", "Content-Length": Buffer.byteLength(json), "X-Upload-Content-Length": size, "X-Upload-Content-Type": contentType },
      () => json,
    );
    const location = answer.headers.location;
    if (answer.status !== 200 && answer.status !== 201) throw this.failure(answer, `POST ${url}`);
    if (!location) throw this.transientError(`${this.what} failed: YouTube answered ${answer.status} to POST ${url} without the session URI (Location)`);
    return new URL(location, url).toString();
  }

  /** Where the session is: a status query (an empty PUT). */
  async status(sessionUri: string, size: number): Promise<SessionState> {
    const answer = await this.call("PUT", sessionUri, { "Content-Length": 0, "Content-Range": `bytes */${size}` }, () => null);
    return this.sessionState(answer, `PUT ${sessionUri} (status query)`);
  }

  /** Sends bytes [start, end) of the file. */
  async chunk(sessionUri: string, file: string, contentType: string, start: number, end: number, size: number): Promise<SessionState> {
    const answer = await this.call(
      "PUT",
      sessionUri,
      { "Content-Length": end - start, "Content-Range": `bytes ${start}-${end - 1}/${size}`, "Content-Type": contentType },
      () => createReadStream(file, { start, end: end - 1 }),
    );
    return this.sessionState(answer, `PUT ${sessionUri} (bytes ${start}-${end - 1}/${size})`);
  }

  private sessionState(answer: HttpAnswer, request: string): SessionState {
    if (answer.status === 200 || answer.status === 201) {
      const id = json(answer.body)?.id;
      if (typeof id !== "string") throw this.transientError(`${this.what}: YouTube answered ${answer.status} to ${request} without the video's id: ${excerpt(answer.body)}`);
      return { done: { remoteId: id, remoteUrl: `https://www.youtube.com/watch?v=${encodeURIComponent(id)}` } };
    }
    // 308 Resume Incomplete; Range "bytes=0-x" names the bytes kept, none when it is missing.
    if (answer.status === 308) {
      const range = /^bytes=0-(\d+)$/.exec(String(answer.headers.range ?? ""));
      return { offset: range ? Number(range[1]) + 1 : 0 };
    }
    if (answer.status === 404 || answer.status === 410) return { gone: true };
    throw this.failure(answer, request);
  }

  /** What an answer that is not progress means: the error class the runner acts on. */
  failure(answer: HttpAnswer, request: string): Error {
    const { reasons, message } = googleError(answer.body);
    const said = `YouTube answered ${answer.status}${reasons.length ? ` ${reasons.join(", ")}` : ""} to ${request}: ${message}`;
    if (reasons.includes("quotaExceeded")) {
      const until = nextPacificMidnight();
      return new RetryLater(`${this.what}: the project's daily YouTube quota is used up; it starts again at midnight Pacific time, ${until.toISOString()} (${said})`, { until });
    }
    if (reasons.includes("uploadLimitExceeded")) {
      const until = new Date(Date.now() + 24 * 3_600_000);
      return new RetryLater(`${this.what}: the channel has reached YouTube's upload limit; trying again in 24 hours, at ${until.toISOString()} (${said})`, { until });
    }
    if (answer.status === 429 || reasons.includes("rateLimitExceeded") || reasons.includes("userRateLimitExceeded")) {
      const until = retryAfter(answer.headers["retry-after"]);
      return new RetryLater(`${this.what}: YouTube asks to slow down; try again after ${until.toISOString()} (${said})`, { until });
    }
    if (answer.status === 400) return new PermanentFailure(`${this.what}: YouTube will not take this video as it is; fix its metadata or file (${said})`);
    if (answer.status === 401 || answer.status === 403) return new NeedsReconnect(`${this.what}: YouTube refused the channel's authorisation; reconnect it (${said})`);
    return this.transientError(`${this.what} failed: ${said}`);
  }

  private transientError(message: string): Error {
    const error = new Error(message);
    this.transient.add(error);
    return error;
  }
}

/** Uploads `video.source_path` to the channel of YOUTUBE_REFRESH_TOKEN; resolves to `{ remoteId, remoteUrl }`. */
export async function mediaProccess(video: MediaVideo, context: MediaProcessContext): Promise<YouTubeResult> {
  const { signal, logger } = context;
  signal.throwIfAborted();
  const config = settings(context.env);
  const source = await sourceFile(video);
  const what = `the YouTube upload of video ${video.id}`;
  if (source.size === 0) throw new PermanentFailure(`${what}: the source file ${source.path} is empty; YouTube takes no empty video`);
  const resource = videoResource(video, source.name, logger);
  const contentType = CONTENT_TYPES[path.extname(source.name).toLowerCase()] ?? "application/octet-stream";
  const api = new YouTubeApi(config, signal, what);
  const finished = (result: YouTubeResult) => {
    context.progress(source.size, source.size);
    return result;
  };

  const previous = resumeState(context.resume);
  // Where the upload is: a session and the offset it holds (-1: ask it), or none yet.
  let position: { uri: string; offset: number } | null = previous?.size === source.size ? { uri: previous.sessionUri, offset: -1 } : null;
  let sessionsOpened = 0;
  for (let failures = 0; ; ) {
    try {
      if (!api.hasToken) await api.refresh();
      if (position?.offset === -1) {
        const state = await api.status(position.uri, source.size);
        if ("done" in state) return finished(state.done);
        position = "offset" in state ? { uri: position.uri, offset: state.offset } : null;
        if (position) context.progress(position.offset, source.size);
      }
      if (position === null) {
        // A session that vanished at once again is not a session expiring: stop rather than loop.
        if (sessionsOpened++ === 2) throw new Error(`${what} failed: YouTube forgot the upload session (404) twice in one attempt`);
        const uri = await api.createSession(resource, source.size, contentType);
        await context.checkpoint({ sessionUri: uri, size: source.size } satisfies YouTubeResumeState).catch((error: Error) => {
          throw new Error(`${what} could not checkpoint its session URI, so it did not send the file: ${error.message}`, { cause: error });
        });
        position = { uri, offset: 0 };
      }
      for (;;) {
        const end = Math.min(position.offset + config.chunkSize, source.size);
        if (end === source.size) {
          await context.fence().catch((error: unknown) => {
            const reason = error instanceof Error ? error.message : String(error);
            throw new Error(`${what} stopped before its last chunk: this attempt no longer holds its lease (${reason})`, { cause: error });
          });
        }
        const state = await api.chunk(position.uri, source.path, contentType, position.offset, end, source.size);
        if ("done" in state) return finished(state.done);
        if ("gone" in state) {
          logger.warn("youtube: the upload session expired; starting a new one", { video_id: video.id });
          position = null;
          break;
        }
        position.offset = state.offset;
        failures = 0;
        context.progress(state.offset, source.size);
      }
    } catch (error) {
      if (!api.transient.has(error as Error) || failures >= config.retryDelays.length) throw error;
      logger.warn("youtube: retrying after a transient failure", { video_id: video.id, error: (error as Error).message });
      await sleep(config.retryDelays[failures++], undefined, { signal }).catch(() => {
        throw abortedError(signal, what);
      });
      // The failed request may have delivered part of its chunk: ask the session where it is.
      if (position) position.offset = -1;
    }
  }
}

/**
 * After an attempt whose outcome is unknown: a status query on the session the attempt
 * checkpointed. Complete → done, with the video's id; incomplete or expired → not-done; no
 * session → not-done; anything else (no answer, a refused token, a 5xx) → unknown.
 */
export async function reconcile(video: MediaVideo, context: MediaProcessContext): Promise<ReconcileAnswer> {
  const state = resumeState(context.resume);
  if (!state) return "not-done";
  const api = new YouTubeApi(settings(context.env), context.signal, `reconciling the YouTube upload of video ${video.id}`);
  try {
    await api.refresh();
    const session = await api.status(state.sessionUri, state.size);
    if ("done" in session) return { status: "done", value: session.done };
    return "not-done";
  } catch (error) {
    context.logger.warn("youtube reconcile: cannot tell", { video_id: video.id, error: (error as Error).message });
    return "unknown";
  }
}
