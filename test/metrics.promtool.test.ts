// The worker's /metrics passes Prometheus's own linter (`promtool check metrics`), on a live
// scrape, with the database answering and without it.
import t, { type Test } from "tap";
import { UploadSchedulerService } from "../src/index.js";
import { createMetrics } from "../src/metrics.js";
import { endpointPool, startHttpEndpoint } from "../src/http/server.js";
import { jsonLogger } from "../src/log.js";
import { testDatabase } from "./fixtures/db.js";
import { freePort } from "./fixtures/worker.js";
import { NO_PROMTOOL, checkMetrics } from "./fixtures/promtool.js";

const policy = { interruptedAfter: "35 minutes", maxAttempts: 3 };

/** The endpoint as npm start serves it: its own pool on `url`, the metrics of a worker on `workerPool`. */
async function scrape(t: Test, url: string, workerService: UploadSchedulerService, observe?: (m: ReturnType<typeof createMetrics>) => void) {
  const pool = endpointPool(url);
  t.teardown(() => pool.end());
  const metrics = createMetrics(workerService, policy);
  observe?.(metrics);
  const http = await startHttpEndpoint({
    host: "127.0.0.1", port: 0, pool, service: new UploadSchedulerService(pool), metrics, policy, logger: jsonLogger({}, () => {}),
  });
  t.teardown(() => http.close());
  const res = await fetch(new URL("/metrics", http.url));
  t.equal(res.status, 200);
  return res.text();
}

t.test("promtool check metrics passes on a live scrape", { skip: NO_PROMTOOL }, async (t) => {
  const db = await testDatabase(t);
  await db.q("select * from upload_scheduler.run_tick()");
  const text = await scrape(t, db.url, new UploadSchedulerService(db.pool), (m) => {
    // Every kind of series, with values: counters, labelled counters, histograms.
    m.ticks.inc();
    m.claims.inc(2);
    m.uploads.inc({ outcome: "success" });
    m.uploads.inc({ outcome: "late" });
    m.uploadSeconds.observe({ outcome: "success" }, 12);
    m.tickSeconds.observe(0.02);
  });
  t.match(text, /^upload_scheduler_database_up 1$/m);
  t.match(text, /^upload_scheduler_videos\{state="waiting"\} 0$/m);
  t.notMatch(text, /^nodejs_active_(handles|requests|resources)_total/m, "no gauge named like a counter");
  t.match(text, /^nodejs_active_handles\{/m, "the handles by type stay");
  const verdict = checkMetrics(text);
  t.ok(verdict.ok, `promtool: ${verdict.problems || "no problem"}`);
});

t.test("promtool check metrics passes without the database", { skip: NO_PROMTOOL }, async (t) => {
  // Nothing listens on that port: every query is refused.
  const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
  const gone = endpointPool(nowhere);
  t.teardown(() => gone.end());
  const text = await scrape(t, nowhere, new UploadSchedulerService(gone));
  t.match(text, /^upload_scheduler_database_up 0$/m);
  t.notMatch(text, /^upload_scheduler_videos/m, "no figure from the database");
  t.match(text, /^process_cpu_seconds_total /m, "the process's own metrics");
  const verdict = checkMetrics(text);
  t.ok(verdict.ok, `promtool: ${verdict.problems || "no problem"}`);
});
