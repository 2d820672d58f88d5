import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { DateTime } from "luxon";
import { DatabaseTimeoutError, errorText, isConnectionError, withTimeout } from "../db/pool.js";
import type { Logger } from "../log.js";
import { DATABASE_TIMEOUT_MS, type SchedulerMetrics } from "../metrics.js";
import type { UploadSchedulerService } from "../service.js";
import { escapeHtml, renderDashboard, renderUnavailable } from "./dashboard.js";
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
 * (ticks are recent), /metrics (Prometheus) and / (the dashboard). Read-only. Every route asks
 * the database afresh; nothing here decides anything. No route waits for the database longer
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
  policy: { interruptedAfter: string; maxAttempts: number };
  logger: Logger;
  timeoutMs?: number;
  /** Why this worker is not ready whatever the database says (it takes no job now); null when it is. */
  notReady?: () => string | null;
  /** What /readyz adds while ready (a clock off, so this worker does not run the crontab). */
  notes?: () => string[];
}): Promise<HttpEndpoint> {
  const { pool, service, metrics, policy, logger } = options;
  const queries = new DashboardQueries(pool);
  const timeoutMs = options.timeoutMs ?? DATABASE_TIMEOUT_MS;
  const inTime = <T>(promise: Promise<T>) => withTimeout(promise, timeoutMs, `the database did not answer within ${timeoutMs / 1000} seconds`);
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(JSON.stringify(body) + "\n");
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
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
      } else if (url.pathname === "/") {
        const { status, html } = await inTime(renderDashboard(service, queries, { userId: url.searchParams.get("user"), policy, now: DateTime.now() }));
        res.writeHead(status, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          // The page has no script; this says so to the browser too.
          "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        });
        res.end(html);
      } else {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found: try /, /healthz, /readyz or /metrics\n");
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
