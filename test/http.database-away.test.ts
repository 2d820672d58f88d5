// The HTTP endpoint when its database does not answer, in this process: refused (nothing
// listens), or hanging (a query that never ends, cut at the endpoint's time limit). Every route
// answers: /metrics with database_up 0, the others with 503 and the reason; a fault that is not
// the database's is a 500. (test/http.database-frozen.test.ts does the same to the real worker.)
import t, { type Test } from "tap";
import type pg from "pg";
import { createMetrics } from "../src/metrics.js";
import { endpointPool, startHttpEndpoint } from "../src/http/server.js";
import { jsonLogger } from "../src/log.js";
import { UploadSchedulerService } from "../src/service.js";
import { freePort } from "./fixtures/worker.js";

const policy = { interruptedAfter: "35 minutes", maxAttempts: 3 };

async function endpoint(t: Test, pool: Pick<pg.Pool, "query">, service: UploadSchedulerService, timeoutMs?: number) {
  const lines: any[] = [];
  const http = await startHttpEndpoint({
    host: "127.0.0.1", port: 0, pool, service, metrics: createMetrics(service, policy), policy,
    logger: jsonLogger({}, (line) => lines.push(JSON.parse(line))), ...(timeoutMs ? { timeoutMs } : {}),
  });
  t.teardown(() => http.close());
  const get = async (path: string) => {
    const res = await fetch(new URL(path, http.url), { signal: AbortSignal.timeout(20_000) });
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };
  return { get, lines };
}

t.test("refused: nothing listens where the database should be", async (t) => {
  const pool = endpointPool(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`);
  t.teardown(() => pool.end());
  const { get, lines } = await endpoint(t, pool, new UploadSchedulerService(pool));
  const page = await get("/");
  t.equal(page.status, 503);
  t.match(page.type, /text\/html/);
  t.match(page.text, /The database does not answer<\/strong> \(connect ECONNREFUSED/, "the page says what is wrong");
  t.match(page.text, /http-equiv="refresh" content="10"/, "and tries again on its own");
  t.match(await get("/healthz"), { status: 503, text: /"status":"unavailable".*ECONNREFUSED/ });
  t.match(await get("/readyz"), { status: 503, text: /"ready":false.*the database: connect ECONNREFUSED/ });
  const metrics = await get("/metrics");
  t.equal(metrics.status, 200);
  t.match(metrics.text, /^upload_scheduler_database_up 0$/m);
  t.match(lines, [{ level: "warn", event: "http_request_failed", path: "/" }], "the failed page is logged by its event");
});

t.test("hanging: every route answers at the endpoint's time limit", async (t) => {
  const never = () => new Promise<never>(() => {});
  const service = { health: never, listUsers: never } as unknown as UploadSchedulerService;
  const { get } = await endpoint(t, { query: never } as unknown as pg.Pool, service, 300);
  t.match(await get("/"), { status: 503, text: /did not answer within 0\.3 seconds/ });
  t.match(await get("/healthz"), { status: 503, text: /did not answer within 0\.3 seconds/ });
  t.match(await get("/readyz"), { status: 503 });
  t.match(await get("/metrics"), { status: 200, text: /^upload_scheduler_database_up 0$/m });
});

t.test("a fault that is not the database's is a 500, saying what failed", async (t) => {
  const service = {
    health: async () => ({ lastTickAt: null, lastTickAgeMs: null, lastTickClaimed: null, lastTickDurationMs: null, ticksLastHour: 0, waiting: 0, pending: 0, uploading: 0, failedRetryable: 0, failedForGood: 0, oldestWaitingAgeMs: null, overdueUploads: 0, usersLimited: 0, limitedUntil: null }),
  } as unknown as UploadSchedulerService;
  // The dashboard's own query of the users fails as a bug would (the database itself answers).
  const pool = {
    query: async (q: { text?: string } | string) => {
      if ((typeof q === "string" ? q : q.text ?? "").includes("from public.users")) throw new Error("a bug in listUsers");
      return { rows: [] };
    },
  } as unknown as pg.Pool;
  const { get, lines } = await endpoint(t, pool, service);
  t.match(await get("/"), { status: 500, text: /The page could not be built: a bug in listUsers/ });
  t.match(lines, [{ event: "http_request_failed", error: "a bug in listUsers" }]);
  t.match(await get("/metrics"), { status: 200, text: /^upload_scheduler_database_up 1$/m });
});
