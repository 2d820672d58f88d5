import http from "node:http";
import type { AddressInfo } from "node:net";
import type pg from "pg";
import { DateTime } from "luxon";
import type { Logger } from "../log.js";
import type { SchedulerMetrics } from "../metrics.js";
import type { UploadSchedulerService } from "../service.js";
import { escapeHtml, renderDashboard } from "./dashboard.js";

export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
}

/** A tick within this long makes the worker ready (the crontab ticks every minute). */
const READY_WITHIN_MS = 120_000;

/**
 * The worker's HTTP endpoint: /healthz (the process runs and the database answers), /readyz
 * (ticks are recent), /metrics (Prometheus) and / (the dashboard). Read-only. Every route asks
 * the database afresh; nothing here decides anything.
 */
export async function startHttpEndpoint(options: {
  host: string;
  port: number;
  pool: Pick<pg.Pool, "query">;
  service: UploadSchedulerService;
  metrics: SchedulerMetrics;
  policy: { interruptedAfter: string; maxAttempts: number };
  logger: Logger;
}): Promise<HttpEndpoint> {
  const { pool, service, metrics, policy, logger } = options;
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
          await withTimeout(pool.query("select 1"), 2000, "the database did not answer within 2 seconds");
          json(res, 200, { status: "ok", database: "ok" });
        } catch (error) {
          json(res, 503, { status: "unavailable", database: (error as Error).message });
        }
      } else if (url.pathname === "/readyz") {
        try {
          const health = await withTimeout(service.health(policy), 2000, "the database did not answer within 2 seconds");
          const age = health.lastTickAgeMs;
          if (age !== null && age < READY_WITHIN_MS) {
            json(res, 200, { ready: true, last_tick_age_seconds: Math.round(age / 1000) });
          } else {
            json(res, 503, { ready: false, reason: age === null ? "no tick has run yet" : `the last tick ran ${Math.round(age / 1000)} seconds ago` });
          }
        } catch (error) {
          json(res, 503, { ready: false, reason: `the database: ${(error as Error).message}` });
        }
      } else if (url.pathname === "/metrics") {
        const text = await metrics.render();
        res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
        res.end(text);
      } else if (url.pathname === "/") {
        const { status, html } = await renderDashboard(service, { userId: url.searchParams.get("user"), policy, now: DateTime.now() });
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
      logger.warn("http_request_failed", "http request failed", { path: url.pathname, error: (error as Error).message });
      if (!res.headersSent) res.writeHead(503, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><title>Upload scheduler</title><p>The page could not be built: ${escapeHtml((error as Error).message)}</p>`);
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

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
