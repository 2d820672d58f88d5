/** What the built-in destinations share: their source file, their settings, HTTP, and Retry-After. */
import { stat } from "node:fs/promises";
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import path from "node:path";
import type { Readable } from "node:stream";
import type { MediaVideo } from "../plugin.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** The video's source file, checked: its path, size and name. */
export async function sourceFile(video: MediaVideo): Promise<{ path: string; size: number; name: string }> {
  const given = video.source_path ?? video.sourcePath;
  if (!given) throw new Error(`video ${video.id} has no source file: set videos.source_path to the file to upload`);
  const file = path.resolve(given);
  const info = await stat(file).catch(() => {
    throw new Error(`source file ${file} of video ${video.id} does not exist or cannot be read`);
  });
  if (!info.isFile()) throw new Error(`source ${file} of video ${video.id} is not a file`);
  return { path: file, size: info.size, name: path.basename(file) };
}

/** A setting that is a whole number of bytes, at least `min`. */
export function byteSetting(env: Env, name: string, fallback: number, min = 1): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be a whole number of bytes, at least ${min}; it is ${JSON.stringify(env[name])}. Unset it for the default, ${fallback}.`);
  }
  return value;
}

/** A setting that lists the waits (ms) before each retry within one attempt: "0,1000,3000"; "" or "none" for no retry. */
export function retryDelaysSetting(env: Env, name: string, fallback: number[]): number[] {
  const text = env[name]?.trim();
  if (text === undefined) return fallback;
  if (text === "" || text === "none") return [];
  const delays = text.split(",").map((part) => Number(part.trim()));
  if (delays.some((delay) => !Number.isSafeInteger(delay) || delay < 0)) {
    throw new Error(`${name} must list milliseconds separated by commas (e.g. "0,1000,3000"), or be "none"; it is ${JSON.stringify(env[name])}`);
  }
  return delays;
}

/** A setting that is a URL. */
export function urlSetting(env: Env, name: string, fallback?: string): string {
  const text = env[name]?.trim() || fallback;
  if (!text) throw new Error(`${name} is not set: set it to the URL of the server to upload to`);
  try {
    return new URL(text).toString();
  } catch {
    throw new Error(`${name} must be an http(s) URL; it is ${JSON.stringify(text)}`);
  }
}

/**
 * The instant a Retry-After header names (seconds, or an HTTP date); `fallbackMs` from now when
 * it is missing or unreadable.
 */
export function retryAfter(header: string | string[] | undefined | null, fallbackMs = 60_000, now = Date.now()): Date {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value) {
    if (/^\d+$/.test(value)) return new Date(now + Number(value) * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return new Date(Math.max(date, now));
  }
  return new Date(now + fallbackMs);
}

/** The error an upload rejects with when its signal fired. */
export function abortedError(signal: AbortSignal, what: string): Error {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return new Error(`${what} was aborted: ${reason}`, { cause: signal.reason });
}

/** The body of a request could not be read (its file vanished): not the network's fault, and not retried. */
export class BodyReadError extends Error {
  override readonly name = "BodyReadError";
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Enough of an error body to say what the server meant; never a whole page. */
const BODY_LIMIT = 64 * 1024;

/**
 * One HTTP(S) request with node:http, so that a file's chunk streams from disk with back-pressure
 * and an exact Content-Length (fetch would buffer or send it chunked). Resolves with the answer,
 * whatever its status; rejects on a network error, when `signal` fires, or with a BodyReadError.
 */
export function httpRequest(
  url: string,
  options: { method: string; headers?: Record<string, string | number>; body?: string | Readable | null; signal: AbortSignal },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = (target.protocol === "https:" ? https : http).request(target, { method: options.method, headers: options.headers, signal: options.signal });
    const body = options.body;
    let done = false;
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      if (body && typeof body !== "string") body.destroy();
      reject(error);
    };
    request.on("error", fail);
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (text.length < BODY_LIMIT) text += chunk;
      });
      response.on("error", fail);
      response.on("end", () => {
        if (done) return;
        done = true;
        // The server may answer before it read the whole body (a refusal): stop reading the file.
        if (body && typeof body !== "string") body.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text });
      });
    });
    if (body === undefined || body === null || typeof body === "string") {
      request.end(body ?? undefined);
    } else {
      body.on("error", (error) => {
        request.destroy(error);
        fail(new BodyReadError(error.message, { cause: error }));
      });
      body.pipe(request);
    }
  });
}

/** The first line or so of a server's answer, for an error message. */
export function excerpt(body: string): string {
  const text = body.replace(/\s+/g, " ").trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
