import type http from "node:http";
import { SchedulerError } from "../errors.js";
import type { UploadSchedulerService } from "../service.js";
import type { Video } from "../types.js";
import { UUID } from "./dashboard.js";
import type { DashboardQueries } from "./queries.js";

/** The largest request body read (a week's JSON is a few kB). */
const MAX_BODY_BYTES = 1_000_000;

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly hint?: string) {
    super(message);
  }
}

/** The request's body as text, at most MAX_BODY_BYTES. */
export async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `The request body is over ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}


function id(value: unknown, what: string): string {
  if (typeof value !== "string" || !UUID.test(value)) throw new HttpError(400, `${what} ${JSON.stringify(value ?? null)} is not an id.`, `Give the uuid of a ${what}.`);
  return value;
}

/** The status an error of the scheduler answers with: 404 for what does not exist, 409 for a state that forbids it, 400 for bad input. */
export function statusOf(error: SchedulerError): number {
  if (error.kind === "connection") return 503;
  if (["UPNVD", "UPNUS", "UPNSL"].includes(error.code ?? "")) return 404;
  if (error.kind === "conflict" || error.code === "UPSTS") return 409;
  if (error.kind === "input" || error.kind === "tenant") return 400;
  return 500;
}

/**
 * The dashboard's actions (POST /actions/<name>, a form's fields): each calls the SQL function a
 * psql user calls. Returns the user to show next and what happened, in words.
 */
export async function runAction(
  name: string,
  form: URLSearchParams,
  service: UploadSchedulerService,
  queries: DashboardQueries,
): Promise<{ userId: string | null; done: string }> {
  switch (name) {
    case "retry": {
      const video = await service.retryVideo(id(form.get("video"), "video"));
      return { userId: video.userId, done: `"${video.title ?? video.id}" is back in the queue` };
    }
    case "withdraw": {
      const video = await service.withdrawVideo(id(form.get("video"), "video"), form.get("reason") || null);
      return { userId: video.userId, done: `"${video.title ?? video.id}" was withdrawn` };
    }
    case "front": {
      const video = await service.moveToFront(id(form.get("video"), "video"));
      return { userId: video.userId, done: `"${video.title ?? video.id}" is next in its queue` };
    }
    case "pause": {
      const userId = id(form.get("user"), "user");
      await service.pauseUploads(userId, { reason: form.get("reason") || null });
      return { userId, done: "uploads paused until resumed" };
    }
    case "resume": {
      const userId = id(form.get("user"), "user");
      await service.resumeUploads(userId);
      return { userId, done: "uploads resumed" };
    }
    case "slot": {
      const active = form.get("active");
      if (active !== "true" && active !== "false") throw new HttpError(400, `active ${JSON.stringify(active)} is not true or false.`);
      const slot = await queries.setSlotActive(id(form.get("slot"), "slot"), active === "true");
      if (!slot) throw new HttpError(404, "No such slot.", "It may have been deleted meanwhile: reload the page.");
      return { userId: slot.userId, done: `slot switched ${active === "true" ? "on" : "off"}` };
    }
    default:
      throw new HttpError(404, `No action ${JSON.stringify(name)}.`, "The actions are retry, withdraw, front, pause, resume and slot.");
  }
}

function videoJson(v: Video) {
  return {
    id: v.id, user_id: v.userId, title: v.title, status: v.status, attempts: v.attempts, created_at: v.createdAt?.toISO() ?? null,
    claimed_at: v.claimedAt?.toISO() ?? null, started_at: v.startedAt?.toISO() ?? null, finished_at: v.finishedAt?.toISO() ?? null,
    last_outcome: v.lastOutcome, last_error: v.lastError, remote_id: v.remoteId, remote_url: v.remoteUrl,
    bytes_sent: v.bytesSent, bytes_total: v.bytesTotal, not_before: v.notBefore?.toISO() ?? null, queue_priority: v.queuePriority,
  };
}

const VIDEO_STATUSES = ["initiate", "pending", "uploading", "success", "failed"];

/**
 * The JSON API (/api/…): the same functions as psql and the dashboard, for applications that
 * speak neither SQL nor Node. Described at /openapi.json. Returns [status, body].
 */
export async function runApi(
  method: string,
  pathname: string,
  query: URLSearchParams,
  body: () => Promise<unknown>,
  service: UploadSchedulerService,
  queries: DashboardQueries,
): Promise<[number, unknown]> {
  const parts = pathname.split("/").filter(Boolean).slice(1); // after "api"
  const route = `${method} /${parts.map((p, i) => ((parts[i - 1] === "users" || parts[i - 1] === "videos") && i % 2 === 1 ? "{id}" : p)).join("/")}`;
  const target = parts[1];
  switch (route) {
    case "GET /health": {
      const h = await service.health();
      return [200, {
        last_tick_at: h.lastTickAt?.toISO() ?? null, last_tick_age_ms: h.lastTickAgeMs, waiting: h.waiting, pending: h.pending,
        uploading: h.uploading, failed_retryable: h.failedRetryable, failed_for_good: h.failedForGood,
        overdue_uploads: h.overdueUploads, users_paused: h.usersPaused, users_held: h.usersHeld, users_limited: h.usersLimited,
      }];
    }
    case "GET /users/{id}/schedule":
      return [200, await service.getSchedule(id(target, "user"), { withLimits: true })];
    case "PUT /users/{id}/schedule": {
      const userId = id(target, "user");
      const week = await body();
      await service.setSchedule(userId, week as never);
      return [200, await service.getSchedule(userId, { withLimits: true })];
    }
    case "GET /users/{id}/queue": {
      const forecast = await service.upcomingUploads({ userId: id(target, "user") });
      return [200, forecast.map((f) => ({
        video_id: f.videoId, queue_position: f.queuePosition, slot_id: f.slotId, slot_name: f.slotName, local_date: f.localDate,
        expected_at: f.expectedAt?.toISO() ?? null,
      }))];
    }
    case "GET /users/{id}/videos": {
      const status = query.get("status");
      if (status !== null && !VIDEO_STATUSES.includes(status)) {
        throw new HttpError(400, `status ${JSON.stringify(status)} is not a video status.`, `Use one of ${VIDEO_STATUSES.join(", ")}.`);
      }
      const limit = Number(query.get("limit") ?? 50);
      const offset = Number(query.get("offset") ?? 0);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500 || !Number.isInteger(offset) || offset < 0) {
        throw new HttpError(400, "limit must be a whole number from 1 to 500, and offset 0 or more.");
      }
      const page = await queries.videos(id(target, "user"), { status, search: query.get("search"), limit, offset });
      return [200, { total: page.total, videos: page.videos.map(videoJson) }];
    }
    case "POST /users/{id}/videos": {
      const input = (await body()) as Record<string, unknown> | null;
      if (!input || typeof input !== "object" || Array.isArray(input)) throw new HttpError(400, "The body is not a JSON object.", 'Send {"title": "…", "source_path": "…"}.');
      for (const key of Object.keys(input)) {
        if (!["title", "source_path", "not_before"].includes(key)) throw new HttpError(400, `Unknown key ${JSON.stringify(key)}.`, "The keys are title, source_path and not_before.");
        if (input[key] !== null && typeof input[key] !== "string") throw new HttpError(400, `${key} is not a string.`);
      }
      const video = await queries.addVideo(id(target, "user"), {
        title: input.title as string | undefined, sourcePath: input.source_path as string | undefined, notBefore: input.not_before as string | undefined,
      });
      return [201, videoJson(video)];
    }
    case "POST /users/{id}/pause": {
      const input = ((await body()) ?? {}) as { until?: string; reason?: string };
      const user = await service.pauseUploads(id(target, "user"), { until: input.until, reason: input.reason ?? null });
      return [200, { user_id: user.id, paused_until: user.uploadsPausedUntil === "infinity" ? "infinity" : user.uploadsPausedUntil?.toISO() ?? null, pause_reason: user.pauseReason }];
    }
    case "POST /users/{id}/resume": {
      const user = await service.resumeUploads(id(target, "user"));
      return [200, { user_id: user.id, paused_until: null }];
    }
    case "GET /videos/{id}": {
      const video = await service.getVideo(id(target, "video"));
      if (!video) throw new HttpError(404, "No such video.");
      return [200, videoJson(video)];
    }
    case "POST /videos/{id}/retry":
      return [200, videoJson(await service.retryVideo(id(target, "video")))];
    case "POST /videos/{id}/cancel": {
      const input = ((await body()) ?? {}) as { reason?: string };
      return [200, videoJson(await service.withdrawVideo(id(target, "video"), input.reason ?? null))];
    }
    case "POST /videos/{id}/front":
      return [200, videoJson(await service.moveToFront(id(target, "video")))];
    default:
      throw new HttpError(404, `No route ${method} ${pathname}.`, "See /openapi.json for the routes.");
  }
}

/** A JSON body, or null when empty; a 400 when it is not JSON. */
export function parseJson(text: string): unknown {
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "The body is not JSON.", "Send application/json.");
  }
}
