// The worker's HTTP endpoint, and the dashboard in a real browser (Debian's chromium, driven by
// playwright-core): the page loads without a console error, shows the user's slots where they
// belong in the week, the queue's times, and what users typed as text, never as markup.
import t, { type Test } from "tap";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import { chromium } from "playwright-core";
import { UploadSchedulerService } from "../src/index.js";
import { createMetrics } from "../src/metrics.js";
import { startHttpEndpoint } from "../src/http/server.js";
import { jsonLogger } from "../src/log.js";
import { PROJECT_ROOT } from "../src/db/migrate.js";
import { testDatabase } from "./fixtures/db.js";
import { addSlot, queueVideos } from "./fixtures/scenario.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const policy = { interruptedAfter: "35 minutes", maxAttempts: 3 };

async function endpoint(t: Test) {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const http = await startHttpEndpoint({
    host: "127.0.0.1", port: 0, pool: db.pool, service, metrics: createMetrics(service, policy), policy, logger: jsonLogger({}, () => {}),
  });
  t.teardown(() => http.close());
  return { db, service, http };
}

t.test("/healthz, /readyz and /metrics", async (t) => {
  const { db, http } = await endpoint(t);
  const get = async (p: string) => {
    const res = await fetch(new URL(p, http.url));
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };
  t.match(await get("/healthz"), { status: 200, text: /"database":"ok"/ });
  t.match(await get("/readyz"), { status: 503, text: /no tick has run yet/ }, "not ready before the first tick");
  await db.q("select * from upload_scheduler.run_tick()");
  t.match(await get("/readyz"), { status: 200, text: /"ready":true/ }, "ready once a tick has run");
  await db.q("update upload_scheduler.ticks set at = at - interval '3 minutes'");
  t.match(await get("/readyz"), { status: 503, text: /the last tick ran 1[89]\d seconds ago/ }, "not ready when ticks stop");

  const [{ id: user }] = await db.q("insert into users default values returning id");
  await queueVideos(db, user, 3);
  const metrics = await get("/metrics");
  t.equal(metrics.status, 200);
  t.match(metrics.type, /text\/plain/);
  t.match(metrics.text, /upload_scheduler_videos\{state="waiting"\} 3/, "videos by state, from the database at scrape time");
  t.match(metrics.text, /upload_scheduler_oldest_waiting_age_seconds \d/);
  t.match(metrics.text, /upload_scheduler_ticks_total 0/);
  t.match(metrics.text, /process_cpu_user_seconds_total/, "and the process's own metrics");
  t.match(await get("/nowhere"), { status: 404 });

  const taken = await startHttpEndpoint({
    host: "127.0.0.1", port: Number(new URL(http.url).port), pool: db.pool, service: new UploadSchedulerService(db.pool),
    metrics: createMetrics(new UploadSchedulerService(db.pool), policy), policy, logger: jsonLogger({}, () => {}),
  }).catch((e) => e);
  t.match(taken.message, /HTTP_PORT \d+ on 127.0.0.1 is taken .* set HTTP_PORT to a free port, or HTTP_PORT=0/, "a second endpoint on the port says what to do");
});

t.test("the dashboard in a real browser", { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)` }, async (t) => {
  const { db, service, http } = await endpoint(t);
  const [{ id: user }] = await db.q("insert into users (time_zone) values ('America/New_York') returning id");
  await db.q("insert into users (time_zone) values ('Asia/Kolkata')");
  // Slots on the day after tomorrow (in the user's zone), so none is open while the test runs.
  const local = DateTime.now().setZone("America/New_York");
  const day = DAYS[local.plus({ days: 2 }).weekday - 1]!;
  const morning = await addSlot(db, user, { day, start: "09:00", end: "11:59:59", max: 2, name: "morning" });
  const evil = await addSlot(db, user, { day, start: "18:00", end: "20:59:59", max: 1, name: "<script>alert(1)</script>" });
  await db.q("insert into upload_schedule_exceptions (user_id, local_date, max_uploads, note) values ($1, $2, 0, 'holiday <b>off</b>')",
    [user, local.plus({ days: 3 }).toISODate()]);
  await db.q(`insert into videos (user_id, title, created_at) values ($1, '<img src=x onerror=alert(2)>', now()), ($1, 'teaser', now() + interval '1 second'),
              ($1, 'outtake', now() + interval '2 seconds'), ($1, 'extra', now() + interval '3 seconds')`, [user]);
  const forecast = await service.upcomingUploads({ userId: user });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
  const response = await page.goto(`${http.url}?user=${user}`);
  t.equal(response?.status(), 200);

  // The slot block sits in its weekday's column, from its start to its end.
  const column = page.locator(`.day[data-day="${day}"] .column`);
  const box = (await column.boundingBox())!;
  const slot = (await page.locator(`[data-slot-id="${morning}"]`).boundingBox())!;
  t.ok(Math.abs((slot.y - box.y) / box.height - 9 / 24) < 0.01, `the morning starts 9/24 down its column (${((slot.y - box.y) / box.height).toFixed(3)})`);
  t.ok(Math.abs(slot.height / box.height - 3 / 24) < 0.01, `and is 3 hours tall (${(slot.height / box.height).toFixed(3)})`);
  t.ok(slot.x >= box.x && slot.x + slot.width <= box.x + box.width + 1, "inside its weekday's column");
  t.match(await page.locator(`[data-slot-id="${morning}"]`).innerText(), /morning\s+09:00–11:59\s+2 uploads/);

  // What users typed appears as text.
  t.equal(await page.locator(`[data-slot-id="${evil}"] .name`).innerText(), "<script>alert(1)</script>", "the slot name is text");
  t.match(await page.locator("#queue").innerText(), /<img src=x onerror=alert\(2\)>/, "a title is text");
  t.match(await page.locator(".day-exception").innerText(), /no uploads: holiday <b>off<\/b>/, "the exception, its note as text");
  t.equal(await page.locator("script").count(), 0, "the page has no script at all");

  // The queue's times are the forecast's, in the user's zone.
  const rows = await page.locator("#queue tbody tr").allInnerTexts();
  t.equal(rows.length, 4);
  for (const [i, f] of forecast.entries()) {
    t.match(rows[i], f.expectedAt ? f.expectedAt.toFormat("ccc d LLL HH:mm") : "not within 7 days", `video ${i + 1}: ${rows[i]}`);
  }
  t.match(rows[0], /morning/);
  t.match(await page.locator("#health").innerText(), /All users[\s\S]*waiting\s+4/, "the health row says it is everyone's");

  // A claimed video leaves the forecast and shows as claimed, above the waiting ones.
  await db.q("select upload_scheduler.claim_due_videos($1, 1)", [local.plus({ days: 2 }).set({ hour: 9, minute: 30 }).toISO()]);
  await page.reload();
  const claimedRows = await page.locator("#queue tbody tr.claimed").allInnerTexts();
  t.equal(claimedRows.length, 1, "one claimed video");
  t.match(claimedRows[0], /<img src=x onerror=alert\(2\)>\s+morning\s+claimed .*upload starting/);
  t.equal(await page.locator("#queue tbody tr:not(.claimed)").count(), 3, "the other three still wait");

  // A platform's limit, full (0: nothing for now): shown with when it frees a claim.
  await db.q("insert into upload_limits (user_id, max_uploads, per, note) values ($1, 0, '24 hours', 'Instagram <i>rolling</i>')", [user]);
  await page.reload();
  const limitRows = await page.locator("#limits tbody tr").allInnerTexts();
  t.equal(limitRows.length, 1, "the user's limit is listed");
  t.match(limitRows[0], /0 in any 1 day\s+0\s+until .*\s+Instagram <i>rolling<\/i>/, "full, until when, its note as text");

  // An unknown user is said so, not replaced by another's week.
  const unknown = await page.goto(`${http.url}?user=00000000-0000-0000-0000-000000000000`);
  t.equal(unknown?.status(), 404);
  t.match(await page.locator("#no-user").innerText(), /No user with id 00000000-0000-0000-0000-000000000000/);
  t.equal(await page.locator("#week").count(), 0);
  t.equal((await page.goto(`${http.url}?user=not-a-uuid`))?.status(), 404, "nor is text that is no id");
  await page.goto(`${http.url}?user=${user}`);

  // Another user, through the select box, without JavaScript: a plain GET form.
  await page.selectOption("select#user", { index: 1 });
  await page.click("button[type=submit]");
  t.match(await page.locator("#week h2").innerText(), /Asia\/Kolkata/);
  // (The 404 pages above made the browser log their status; nothing else may be logged.)
  t.same(problems.filter((p) => !/status of 404/.test(p)), [], "no console error, no dialog");

  const dir = path.join(PROJECT_ROOT, ".tap", "screenshots");
  mkdirSync(dir, { recursive: true });
  await page.goto(`${http.url}?user=${user}`);
  await page.screenshot({ path: path.join(dir, "dashboard.png"), fullPage: true });
  t.pass("screenshot in .tap/screenshots/dashboard.png (not in git)");
});

t.test("the page shows a running upload's progress, where the destination put each upload, holds and the user's limits", async (t) => {
  const { db, http } = await endpoint(t);
  const service = new UploadSchedulerService(db.pool);
  const [{ id: user }] = await db.q("insert into users (time_zone) values ('UTC') returning id");
  await db.q(`insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
              select $1, d, '00:00', '23:59:59', 10
              from unnest(array[to_char(now() at time zone 'UTC', 'FMday'), to_char((now() + interval '1 day') at time zone 'UTC', 'FMday')]) d`, [user]);
  const [a, b] = await queueVideos(db, user, 2, new Date(Date.now() - 3_600_000).toISOString());
  await db.q("select upload_scheduler.claim_due_videos()");
  const first = (await service.beginAttempt(a!, { worker: "web-1:42", lease: "1 minute" }))!;
  await service.endAttempt({ videoId: a!, attempt: first.attempt, token: first.token }, "success",
    { result: { remoteId: "r1", remoteUrl: "https://tus.example/files/r1" } });
  const second = (await service.beginAttempt(b!, { worker: "web-1:42", lease: "1 minute" }))!;
  await service.renewLease({ videoId: b!, attempt: second.attempt, token: second.token }, "1 minute", { sent: 12_300_000, total: 27_000_000 });
  await db.q("insert into upload_limits (user_id, max_uploads, per, time_zone) values ($1, 2, '7 days', 'America/Los_Angeles'), ($1, 90, '90 minutes', null)", [user]);
  await db.q("update users set held_until = now() + interval '2 hours', hold_reason = 'quotaExceeded <b>' where id = $1", [user]);

  const html = await (await fetch(`${http.url}?user=${user}`)).text();
  t.match(html, /uploading since .*, <span class="progress">45 % \(12\.3 of 27\.0 MB\)<\/span>/, "the running upload's progress");
  t.match(html, /<a class="remote" href="https:\/\/tus\.example\/files\/r1">/, "where the uploaded one is");
  t.match(html, /id="hold">Held until .*: quotaExceeded &lt;b&gt; \(the destination said to retry later\)/, "the hold, its reason as text");
  t.match(html, /<td>2 per 7 days from midnight in America\/Los_Angeles<\/td><td>2<\/td><td>until /, "a full calendar limit, until when");
  t.match(html, /<td>90 in any 90 minutes<\/td><td>2<\/td><td>no<\/td>/, "a rolling limit with room");
  t.match(html, /users held<\/span><strong>1/, "the health row counts the held user");

  const moved = await service.withdrawVideo((await queueVideos(db, user, 1))[0]!, "pulled");
  t.match(moved, { status: "failed", lastOutcome: "withdrawn", lastError: "withdrawn: pulled" }, "the typed client withdraws");
  const [c] = await queueVideos(db, user, 1);
  t.match(await service.moveToFront(c!), { status: "initiate", queuePriority: 1 }, "and moves to the front");
});
