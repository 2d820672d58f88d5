// The worker process's HTTP endpoint, as `npm start` serves it: its URL printed at start, the
// metrics counting what the worker did, and a port that is taken.
import t from "tap";
import net from "node:net";
import { testDatabase } from "./fixtures/db.js";
import { SCRIPTED_MEDIA, freePort, mediaLog, openSlotWithVideos, startWorker, statuses, waitFor } from "./fixtures/worker.js";

/** A metric's value in Prometheus text ("name{labels} value"), or undefined. */
function metric(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test("npm start prints the endpoint's URL; /metrics counts the ticks, claims and uploads by outcome", async (t) => {
  const db = await testDatabase(t);
  const { user } = await openSlotWithVideos(db, ["ok", "reject:quota exceeded"]);
  const port = await freePort();
  const worker = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: mediaLog().file, HTTP_PORT: String(port) });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  const url = `http://127.0.0.1:${port}/`;
  // (Printed beside the start's log line, not necessarily before it reaches us.)
  await waitFor("the endpoint's URL", async () => worker.output().includes(`Dashboard, health and metrics: ${url}\n`)).catch(() => false);
  t.ok(worker.output().includes(`Dashboard, health and metrics: ${url}\n`), "the URL is printed on a line of its own");
  t.equal(worker.events("worker_started")[0]?.dashboard, url, "and in the start's log line");

  const get = async (p: string) => {
    const res = await fetch(new URL(p, url));
    return { status: res.status, text: await res.text() };
  };
  t.equal((await get("/readyz")).status, 503, "not ready before the first tick");
  await db.q("select graphile_worker.add_job('schedule_uploads')");
  await waitFor("both uploads to end", async () => (await statuses(db)).every((r) => r.status === "success" || r.status === "failed"));
  t.match(await get("/readyz"), { status: 200, text: /"ready":true/ });
  t.match(await get("/healthz"), { status: 200 });

  const { text } = await waitFor("the outcomes to be counted", async () => {
    const m = await get("/metrics");
    return metric(m.text, 'upload_scheduler_uploads_total{outcome="failed"}') === 1 && m;
  });
  // The tick added above, and the crontab's own when a minute began meanwhile.
  const ticks = metric(text, "upload_scheduler_ticks_total");
  t.ok(ticks !== undefined && ticks >= 1 && ticks <= 3, `the ticks counted (${ticks})`);
  t.equal(metric(text, "upload_scheduler_claims_total"), 2, "two claims");
  t.equal(metric(text, 'upload_scheduler_uploads_total{outcome="success"}'), 1, "one upload succeeded");
  t.equal(metric(text, 'upload_scheduler_upload_duration_seconds_count{outcome="success"}'), 1, "its duration observed");
  t.equal(metric(text, "upload_scheduler_tick_duration_seconds_count"), ticks, "each tick's duration observed");
  t.equal(metric(text, 'upload_scheduler_videos{state="failed_retryable"}'), 1, "the failed video, read from the database");

  const page = await get("/");
  t.equal(page.status, 200);
  t.ok(page.text.includes(user), "the dashboard shows the first user");

  // A second worker asking for the same port by hand does not start, and says what to do.
  const second = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: mediaLog().file, HTTP_PORT: String(port) });
  t.equal(await second.exited, 1, "exits 1");
  t.match(second.output(), new RegExp(`HTTP_PORT ${port} on 127.0.0.1 is taken .*set HTTP_PORT to a free port, or HTTP_PORT=0`));

  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0);
});

t.test("the default port taken: the worker says so and runs without the endpoint", async (t) => {
  const db = await testDatabase(t);
  // Hold the default port (8377); if something else holds it already, that serves as well.
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.once("error", () => resolve()).listen(8377, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => holder.close(resolve)));
  const worker = startWorker(t, db, { MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA, MEDIA_LOG: mediaLog().file, HTTP_PORT: "" });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  const [warning] = worker.events("http_unavailable");
  t.equal(warning?.level, "warn");
  t.match(warning?.msg, /HTTP_PORT 8377 on 127.0.0.1 is taken .*set HTTP_PORT to a free port, or HTTP_PORT=0 to switch the endpoint off/);
  t.notOk(worker.output().includes("Dashboard, health and metrics"), "no URL is printed");
  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0);
});
