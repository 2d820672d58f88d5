// The worker's HTTP endpoint never hangs on its database. With the server frozen (SIGSTOP on the
// postmaster and every process of a throw-away cluster: connections are accepted, nothing is
// answered), /metrics still answers, with Node's metrics and upload_scheduler_database_up 0, and
// promtool accepts it; the dashboard answers 503 with a page saying what is wrong; /healthz and
// /readyz answer 503. Once the server runs again, so does everything, and the worker stops in order.
import t from "tap";
import { throwawayCluster } from "./fixtures/cluster.js";
import { NO_PROMTOOL, checkMetrics } from "./fixtures/promtool.js";
import { freePort, startWorker, waitFor } from "./fixtures/worker.js";

t.test("a frozen database: every route answers, /metrics with database_up 0", async (t) => {
  const cluster = await throwawayCluster(t);
  const db = await cluster.database(t);
  const port = await freePort();
  const worker = startWorker(t, db, { HTTP_PORT: String(port) });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  // A hang fails the test (the abort), rather than holding it until tap's timeout.
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(20_000) });
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };
  const promtool = (text: string, when: string) => {
    if (NO_PROMTOOL) return t.comment(`promtool not run ${when}: ${NO_PROMTOOL}`);
    const verdict = checkMetrics(text);
    t.ok(verdict.ok, `promtool check metrics ${when}: ${verdict.problems || "no problem"}`);
  };

  const before = await get("/metrics");
  t.match(before.text, /^upload_scheduler_database_up 1$/m, "the database answers");
  t.match(before.text, /^upload_scheduler_videos\{state="waiting"\} 0$/m);
  promtool(before.text, "with the database");

  cluster.freeze();
  t.teardown(() => cluster.thaw());
  const asked = Date.now();
  const metrics = await get("/metrics");
  t.comment(`/metrics answered in ${Date.now() - asked} ms with the database frozen`);
  t.equal(metrics.status, 200, "/metrics answers");
  t.match(metrics.text, /^upload_scheduler_database_up 0$/m, "saying the database did not answer");
  t.notMatch(metrics.text, /^upload_scheduler_videos/m, "and no stale figure from it");
  t.match(metrics.text, /^process_cpu_seconds_total /m, "with the process's own metrics");
  t.match(metrics.text, /^upload_scheduler_ticks_total /m, "and this worker's counters");
  promtool(metrics.text, "without the database");

  const page = await get("/");
  t.equal(page.status, 503, "the dashboard: 503");
  t.match(page.type, /text\/html/);
  t.match(page.text, /The database does not answer/, "a page that says what is wrong");
  t.match(page.text, /http-equiv="refresh"/, "and tries again on its own");
  // (Which limit fires first, the connection's or the statement's, depends on the moment.)
  t.match(await get("/healthz"), { status: 503, text: /"status":"unavailable".*(did not answer within 2 seconds|connection timeout)/ });
  t.match(await get("/readyz"), { status: 503, text: /"ready":false/ });

  // More requests at once than the endpoint's pool has connections, all of them hanging: each still answers.
  const many = await Promise.all(Array.from({ length: 8 }, () => get("/metrics")));
  t.same(many.map((m) => [m.status, /^upload_scheduler_database_up 0$/m.test(m.text)]), Array(8).fill([200, true]), "eight scrapes at once");
  t.equal(worker.child.exitCode, null, "the worker runs on");

  cluster.thaw();
  await waitFor("the database's figures again", async () => /^upload_scheduler_database_up 1$/m.test((await get("/metrics")).text));
  t.match(await get("/"), { status: 200 }, "the dashboard is back");
  t.match(await get("/healthz"), { status: 200 });
  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0, "the worker stops in order");
});
