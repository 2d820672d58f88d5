import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { DateTime } from "luxon";
import { DatabaseTimeoutError, errorText, isConnectionError, withTimeout } from "../db/pool.js";
import type { Logger } from "../log.js";
import { DATABASE_TIMEOUT_MS, type SchedulerMetrics } from "../metrics.js";
import type { UploadSchedulerService } from "../service.js";
import { SchedulerError } from "../errors.js";
import { HttpError, parseJson, readBody, runAction, runApi, statusOf } from "./api.js";
import { EndpointAuth, sessionCookie, SESSION_COOKIE } from "./auth.js";
import { escapeHtml, renderDashboard, renderLogin, renderUnavailable } from "./dashboard.js";
import { OPENAPI } from "./openapi.js";
import { renderVideoPage, renderVideosPage } from "./pages.js";
import { DashboardQueries } from "./queries.js";

export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
}

/** A tick within this long makes the worker ready (the crontab ticks every minute). */
const READY_WITHIN_MS = 120_000;

/**
 * A small pool for the endpoint's reads, apart from the worker's: a page never waits behind
 * uploads, and a database that does not answer costs the endpoint, not the uploads. Each
 * statement, and each wait for a connection, ends after `timeoutMs` (a statement_timeout for a
 * slow query, a query_timeout and connectionTimeoutMillis for a server that does not answer at all).
 */
export function endpointPool(connectionString: string, timeoutMs = DATABASE_TIMEOUT_MS): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: 4,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + 500,
    idleTimeoutMillis: 30_000,
    application_name: "upload-scheduler-http",
  });
  // A connection lost while idle is only dropped: the next request opens another.
  pool.on("error", () => {});
  return pool;
}

/** Whether an error means the database did not answer (in time, or at all), rather than a bug. */
function databaseAway(error: unknown): boolean {
  return error instanceof DatabaseTimeoutError || isConnectionError(error) ||
    (error as { code?: string }).code === "57014" || /timeout/i.test((error as Error)?.message ?? "");
}

/**
 * The worker's HTTP endpoint: /healthz (the process runs and the database answers), /readyz
 * (ticks are recent), /metrics (Prometheus), / (the dashboard), and, with `auth` on
 * (DASHBOARD_TOKEN), the dashboard's actions (POST /actions/…) and the JSON API (/api/…,
 * described at /openapi.json). Every route asks the database afresh and every action calls the
 * SQL function psql would; nothing here decides anything. No route waits for the database longer
 * than `timeoutMs` (default 2 s): /metrics then answers without the database's gauges, the
 * others with 503 and the reason. Give it `pool` and `service` on an endpointPool(), so that the
 * queries left behind end too.
 */
export async function startHttpEndpoint(options: {
  host: string;
  port: number;
  pool: Pick<pg.Pool, "query">;
  service: UploadSchedulerService;
  metrics: SchedulerMetrics;
  /** The worker's INTERRUPTED_AFTER and MAX_ATTEMPTS (health), and RETRY_FAILED_AFTER (when a failed video is retried). */
  policy: { interruptedAfter: string; maxAttempts: number; retryAfterMs?: number };
  logger: Logger;
  timeoutMs?: number;
  /** Why this worker is not ready whatever the database says (it takes no job now); null when it is. */
  notReady?: () => string | null;
  /** What /readyz adds while ready (a clock off, so this worker does not run the crontab). */
  notes?: () => string[];
  /** Who may act (DASHBOARD_TOKEN); without it the dashboard is read-only and /api answers 403. */
  auth?: EndpointAuth;
}): Promise<HttpEndpoint> {
  const { pool, service, metrics, policy, logger } = options;
  const auth = options.auth ?? new EndpointAuth(null);
  const queries = new DashboardQueries(pool);
  const timeoutMs = options.timeoutMs ?? DATABASE_TIMEOUT_MS;
  const inTime = <T>(promise: Promise<T>) => withTimeout(promise, timeoutMs, `the database did not answer within ${timeoutMs / 1000} seconds`);
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(JSON.stringify(body) + "\n");
  };

  const html = (res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}) => {
    res.writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      // The pages have no script; this says so to the browser too.
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      ...headers,
    });
    res.end(body);
  };
  const apiError = (res: http.ServerResponse, error: unknown) => {
    if (error instanceof HttpError) {
      json(res, error.status, { error: { message: error.message, code: String(error.status), ...(error.hint ? { hint: error.hint } : {}) } });
    } else if (error instanceof SchedulerError) {
      json(res, statusOf(error), { error: { message: error.message, ...(error.code ? { code: error.code } : {}), ...(error.hint ? { hint: error.hint } : {}) } });
    } else {
      throw error;
    }
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const reading = method === "GET" || method === "HEAD";
    try {
      if (url.pathname === "/openapi.json" && reading) {
        json(res, 200, OPENAPI);
      } else if (url.pathname === "/login") {
        if (!auth.enabled) {
          html(res, 404, renderLogin({ off: true }));
        } else if (method === "POST") {
          const form = new URLSearchParams(await readBody(req));
          if (auth.isToken(form.get("token"))) {
            res.writeHead(303, { location: "/", "set-cookie": sessionCookie(auth.session()), "cache-control": "no-store" }).end();
          } else {
            logger.warn("http_login_refused", "a login with a wrong token was refused", { remote: req.socket.remoteAddress });
            html(res, 401, renderLogin({ wrong: true }));
          }
        } else {
          html(res, 200, renderLogin({}));
        }
      } else if (url.pathname === "/logout" && method === "POST") {
        res.writeHead(303, { location: "/login", "set-cookie": `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` }).end();
      } else if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
        const how = auth.authenticate(req);
        try {
          if (!auth.enabled) {
            throw new HttpError(403, "The JSON API is off: this worker has no DASHBOARD_TOKEN.", "Start the worker with DASHBOARD_TOKEN set (16 characters or more), and send it as Authorization: Bearer <token>.");
          }
          if (!how) {
            res.setHeader("www-authenticate", 'Bearer realm="upload-scheduler"');
            throw new HttpError(401, "No valid token.", "Send the worker's DASHBOARD_TOKEN as Authorization: Bearer <token>.");
          }
          if (!reading && how === "cookie" && !auth.isOwnWrite(req, req.headers["x-csrf-token"] as string | undefined)) {
            throw new HttpError(403, "A write with the dashboard's cookie needs its CSRF token.", "Send X-CSRF-Token, or use Authorization: Bearer <token>.");
          }
          const [status, body] = await inTime(runApi(method === "HEAD" ? "GET" : method, url.pathname, url.searchParams,
            async () => parseJson(await readBody(req)), service, queries));
          json(res, status, body);
        } catch (error) {
          apiError(res, error);
        }
      } else if (url.pathname.startsWith("/actions/")) {
        const how = auth.authenticate(req);
        if (method !== "POST") {
          res.writeHead(405, { allow: "POST" }).end();
        } else if (!auth.enabled) {
          html(res, 403, renderLogin({ off: true }));
        } else if (!how) {
          html(res, 401, renderLogin({}));
        } else {
          const form = new URLSearchParams(await readBody(req));
          if (how === "cookie" && !auth.isOwnWrite(req, form.get("csrf"))) {
            logger.warn("http_action_refused", "an action without the page's CSRF token was refused", { path: url.pathname });
            html(res, 403, renderLogin({ csrf: true }));
            return;
          }
          const back = new URLSearchParams();
          try {
            const result = await inTime(runAction(url.pathname.slice("/actions/".length), form, service, queries));
            if (result.userId) back.set("user", result.userId);
            back.set("done", result.done);
            logger.info("http_action", result.done, { action: url.pathname, user_id: result.userId });
          } catch (error) {
            if (!(error instanceof HttpError) && !(error instanceof SchedulerError && error.kind !== "connection" && error.kind !== "bug")) throw error;
            if (form.get("back")) back.set("user", form.get("back")!);
            back.set("error", `${error.message}${error.hint ? ` ${error.hint}` : ""}`);
          }
          res.writeHead(303, { location: `/?${back}`, "cache-control": "no-store" }).end();
        }
      } else if (!reading) {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
      } else if (url.pathname === "/healthz") {
        try {
          await inTime(pool.query("select 1"));
          json(res, 200, { status: "ok", database: "ok" });
        } catch (error) {
          json(res, 503, { status: "unavailable", database: errorText(error) });
        }
      } else if (url.pathname === "/readyz") {
        const notReady = options.notReady?.() ?? null;
        if (notReady !== null) {
          json(res, 503, { ready: false, reason: notReady });
          return;
        }
        try {
          const health = await inTime(service.health(policy));
          const age = health.lastTickAgeMs;
          if (age !== null && age < READY_WITHIN_MS) {
            const notes = options.notes?.() ?? [];
            json(res, 200, { ready: true, last_tick_age_seconds: Math.round(age / 1000), ...(notes.length ? { notes } : {}) });
          } else {
            json(res, 503, { ready: false, reason: age === null ? "no tick has run yet" : `the last tick ran ${Math.round(age / 1000)} seconds ago` });
          }
        } catch (error) {
          json(res, 503, { ready: false, reason: `the database: ${errorText(error)}` });
        }
      } else if (url.pathname === "/metrics") {
        // Always answers: without the database's gauges (and with upload_scheduler_database_up 0) when it is away.
        const text = await metrics.render({ service, timeoutMs });
        res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
        res.end(text);
      } else if ((url.pathname === "/" || url.pathname === "/videos" || url.pathname === "/video") && auth.enabled && !auth.authenticate(req)) {
        // The pages need the token when there is one.
        html(res, 401, renderLogin({}));
      } else if (url.pathname === "/") {
        const page = await inTime(renderDashboard(service, queries, {
          userId: url.searchParams.get("user"), policy, now: DateTime.now(),
          actions: auth.enabled ? { csrf: auth.csrf() } : null,
          notice: { done: url.searchParams.get("done"), error: url.searchParams.get("error") },
        }));
        html(res, page.status, page.html);
      } else if (url.pathname === "/videos" || url.pathname === "/video") {
        const page = url.pathname === "/videos"
          ? await inTime(renderVideosPage(queries, {
            userId: url.searchParams.get("user"), status: url.searchParams.get("status"), search: url.searchParams.get("q"),
            page: Number(url.searchParams.get("page") ?? 1),
          }))
          : await inTime(renderVideoPage(service, queries, { videoId: url.searchParams.get("id"), actions: auth.enabled ? { csrf: auth.csrf() } : null }));
        html(res, page.status, page.html);
      } else {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found: try /, /healthz, /readyz, /metrics or /openapi.json\n");
      }
    } catch (error) {
      const away = databaseAway(error);
      logger.warn("http_request_failed", away ? "the database did not answer the request in time" : "http request failed", { path: url.pathname, error: errorText(error) });
      if (!res.headersSent) res.writeHead(away ? 503 : 500, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "retry-after": "10" });
      res.end(away
        ? renderUnavailable(errorText(error))
        : `<!doctype html><title>Upload scheduler</title><p>The page could not be built: ${escapeHtml(errorText(error))}</p>`);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(new Error(
          `HTTP_PORT ${options.port} on ${options.host} is taken (another worker on this machine?): ` +
            "set HTTP_PORT to a free port, or HTTP_PORT=0 to switch the endpoint off",
        ));
      } else {
        reject(error);
      }
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
