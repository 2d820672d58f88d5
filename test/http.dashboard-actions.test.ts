// The dashboard's actions, in a real browser (Debian's chromium, driven by playwright-core): with
// DASHBOARD_TOKEN set, an operator logs in, then retries a failed video, withdraws a waiting one,
// sends one to the head of its queue ("upload next"), pauses and resumes the user, switches a slot
// off and on; after each click the database says it happened. A refused action says why. Without
// the token, without the page's CSRF value, or from another origin, an action is refused and
// changes nothing. Screenshots at desktop and phone width go to .screenshots/ (not in git).
import t, { type Test } from "tap";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Page } from "playwright-core";
import { UploadSchedulerService } from "../src/index.js";
import { createMetrics } from "../src/metrics.js";
import { startHttpEndpoint } from "../src/http/server.js";
import { EndpointAuth } from "../src/http/auth.js";
import { jsonLogger } from "../src/log.js";
import { PROJECT_ROOT } from "../src/db/migrate.js";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { addSlot, addUser, queueVideos, snapshot } from "./fixtures/scenario.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TOKEN = "the-operators-token-0123456789";
const policy = { interruptedAfter: "35 minutes", maxAttempts: 3, retryAfterMs: 30 * 60_000 };
const SHOTS = path.join(PROJECT_ROOT, ".screenshots");

async function scene(t: Test) {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const lines: any[] = [];
  const http = await startHttpEndpoint({
    host: "127.0.0.1", port: 0, pool: db.pool, service, metrics: createMetrics(service, policy), policy,
    logger: jsonLogger({}, (line) => lines.push(JSON.parse(line))), auth: new EndpointAuth(TOKEN),
  });
  t.teardown(() => http.close());
  const user = await addUser(db);
  const slot = await addSlot(db, user, { day: "monday", start: "09:00", end: "17:59:59", max: 5, name: "office hours" });
  // One failed upload (claimed, started and refused on Monday 30 November), three waiting videos.
  const [failed] = await queueVideos(db, user, 1, "2026-11-01T00:00:00Z");
  await db.q("select upload_scheduler.find_next_video_to_upload($1, $2)", [user, kolkata("2026-11-30 09:00")]);
  await db.q("select upload_scheduler.start_upload($1, $2)", [failed, kolkata("2026-11-30 09:01")]);
  await db.q("select upload_scheduler.finish_upload($1, false, 'quotaExceeded', $2)", [failed, kolkata("2026-11-30 09:02")]);
  const [first, second, third] = await queueVideos(db, user, 3, "2026-11-02T00:00:00Z");
  await db.q("update videos set title = x.title from (values ($1::uuid, 'failed clip'), ($2, 'first'), ($3, 'second'), ($4, 'third')) x (id, title) where videos.id = x.id",
    [failed, first, second, third]);
  return { db, http, user, slot, failed: failed!, first: first!, second: second!, third: third!, lines };
}

async function browserFor(t: Test) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** Clicks a button and waits for the page the action redirects to. */
async function click(page: Page, selector: string) {
  await Promise.all([page.waitForURL((url) => url.searchParams.has("done") || url.searchParams.has("error")), page.locator(selector).click()]);
}

const noBrowser = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`;

t.test("an operator logs in and clicks every action; the database follows each click", { skip: noBrowser }, async (t) => {
  const s = await scene(t);
  const browser = await browserFor(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(e.message));

  // Not logged in: the login form, nothing of the schedule.
  const first = await page.goto(`${s.http.url}?user=${s.user}`);
  t.equal(first?.status(), 401, "the dashboard asks for the token");
  t.notMatch(await page.content(), /office hours/, "and shows nothing before it");
  await page.fill("#token", "not-the-token-at-all-000");
  await Promise.all([page.waitForLoadState("load"), page.click("#login button")]);
  t.match(await page.locator("#login").innerText(), /That is not the token/, "a wrong token is refused");
  t.match(s.lines.find((l) => l.event === "http_login_refused"), { event: "http_login_refused" }, "and logged");
  await page.fill("#token", TOKEN);
  await Promise.all([page.waitForURL(s.http.url), page.click("#login button")]);
  const cookies = await page.context().cookies();
  t.match(cookies, [{ name: "upsched_session", httpOnly: true, sameSite: "Strict" }], "an HttpOnly, SameSite=Strict session cookie");
  t.notOk(cookies.some((c) => c.value.includes(TOKEN)), "which is not the token itself");
  await page.goto(`${s.http.url}?user=${s.user}`);
  problems.length = 0; // (the login page's own 401 answers are logged by the browser as failed loads)

  // Upload next: the third waiting video goes to the head of the queue.
  await click(page, `#queue tr[data-video-id="${s.third}"] .action-front button`);
  t.match(await page.locator("#notice").innerText(), /Done: "third" is next in its queue/);
  t.equal(await page.locator("#queue tbody tr").first().getAttribute("data-video-id"), s.third, "the page shows it first");
  const [head] = await s.db.q("select id from videos where status = 'initiate' order by queue_priority desc, created_at, id limit 1");
  t.equal(head.id, s.third, "and so does the database's order");

  // Cancel a waiting video, with a reason.
  await page.fill(`#queue tr[data-video-id="${s.second}"] .action-withdraw input[name=reason]`, "the client pulled it");
  await click(page, `#queue tr[data-video-id="${s.second}"] .action-withdraw button`);
  t.match(await s.db.q("select status, last_outcome, last_error from videos where id = $1", [s.second]),
    [{ status: "failed", last_outcome: "withdrawn", last_error: "withdrawn: the client pulled it" }], "withdrawn, its reason on record");
  t.match(await page.locator(`#failed tr[data-video-id="${s.second}"]`).innerText(), /withdrawn: never retried by the sweep/,
    "the failed list says it will not be retried");

  // Retry the failed upload now.
  t.match(await page.locator(`#failed tr[data-video-id="${s.failed}"]`).innerText(), /quotaExceeded[\s\S]*retried by the first tick after Mon 30 Nov 09:32 \(RETRY_FAILED_AFTER after it failed\)/,
    "the failed video, its error and when it is retried (it failed at 09:02; RETRY_FAILED_AFTER is 30 minutes)");
  await click(page, `#failed tr[data-video-id="${s.failed}"] .action-retry button`);
  t.same(await s.db.q("select status from videos where id = $1", [s.failed]), [{ status: "initiate" }], "retried: back in the queue");

  // Pause with a reason, then resume.
  await page.fill("#pause-form input[name=reason]", "channel review");
  await click(page, "#pause-form button");
  t.match(await s.db.q("select uploads_paused_until, pause_reason from users where id = $1", [s.user]),
    [{ uploads_paused_until: Infinity, pause_reason: "channel review" }], "paused until resumed, with its reason");
  t.match(await page.locator("#pause").innerText(), /Paused until resumed: channel review/);
  await click(page, "#pause .action-resume button");
  t.same(await s.db.q("select uploads_paused_until from users where id = $1", [s.user]), [{ uploads_paused_until: null }], "resumed");

  // Switch the slot off, then on.
  await page.locator("#slot-switches summary").click();
  await click(page, `#slot-switches li[data-slot-id="${s.slot}"] button`);
  t.same(await s.db.q("select is_active from upload_schedules where id = $1", [s.slot]), [{ is_active: false }], "switched off");
  await page.locator("#slot-switches summary").click();
  await click(page, `#slot-switches li[data-slot-id="${s.slot}"] button`);
  t.same(await s.db.q("select is_active from upload_schedules where id = $1", [s.slot]), [{ is_active: true }], "and on");

  // A refused action says why (the SQL error's message and hint), and changes nothing.
  await s.db.q("select upload_scheduler.withdraw_video($1, 'by psql meanwhile')", [s.first]);
  const before = await snapshot(s.db);
  await click(page, `#queue tr[data-video-id="${s.first}"] .action-front button`);
  t.match(await page.locator("#notice").innerText(), /Refused: Video .* is 'failed', not 'initiate': move_to_front cannot act on it/,
    "a video withdrawn meanwhile: the page says the database refused, and why");
  t.equal(await snapshot(s.db), before, "nothing changed");
  t.ok(s.lines.filter((l) => l.event === "http_action").length >= 7, "each action is logged");
  t.same(problems, [], "no console error");

  // A short slot (15 minutes) shows its name, and unfolds its times and use when pointed at or tabbed to.
  const short = await addSlot(s.db, s.user, { day: "tuesday", start: "18:00", end: "18:14:59", max: 1, name: "quick one" });
  await page.goto(`${s.http.url}?user=${s.user}`);
  const block = page.locator(`.slot[data-slot-id="${short}"]`);
  const clipped = await block.evaluate((e) => e.scrollHeight > e.clientHeight + 1);
  t.ok(clipped, "folded, its text does not fit (15 minutes of 24 hours)");
  await block.focus();
  t.ok(await block.evaluate((e) => e.scrollHeight <= e.clientHeight + 1), "focused, all of it shows");
  t.match(await block.innerText(), /quick one\s+18:00–18:14\s+1 upload/);
  await page.mouse.move(0, 0);
  await block.evaluate((e) => (e as HTMLElement).blur());
  await block.hover();
  t.ok(await block.evaluate((e) => e.scrollHeight <= e.clientHeight + 1), "pointed at, all of it shows");

  // Desktop and phone width; at 390 px nothing scrolls sideways.
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "dashboard-actions-desktop.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  t.ok(width <= 390, `at 390 px the page is ${width} px wide`);
  await page.screenshot({ path: path.join(SHOTS, "dashboard-actions-phone.png"), fullPage: true });
});

t.test("an action without the token, without the page's CSRF value, or from another origin is refused and changes nothing", async (t) => {
  const s = await scene(t);
  const before = await snapshot(s.db);
  const post = (headers: Record<string, string>, fields: Record<string, string>) =>
    fetch(new URL("/actions/withdraw", s.http.url), {
      method: "POST", redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ video: s.first, back: s.user, ...fields }).toString(),
    });
  const auth = new EndpointAuth(TOKEN);
  const cookie = `upsched_session=${encodeURIComponent(auth.session())}`;
  const origin = new URL(s.http.url).origin;

  t.equal((await post({}, {})).status, 401, "no token: 401");
  t.equal((await post({ cookie: "upsched_session=forged" }, { csrf: auth.csrf() })).status, 401, "a forged cookie: 401");
  t.equal((await post({ cookie }, {})).status, 403, "the cookie without the page's CSRF value: 403");
  t.equal((await post({ cookie }, { csrf: "guessed" })).status, 403, "with a wrong one: 403");
  t.equal((await post({ cookie, origin: "http://evil.example" }, { csrf: auth.csrf() })).status, 403, "from another origin: 403");
  t.equal(await snapshot(s.db), before, "nothing changed");
  t.ok(s.lines.some((l) => l.event === "http_action_refused"), "a refused action is logged");

  const ok = await post({ cookie, origin }, { csrf: auth.csrf() });
  t.equal(ok.status, 303, "the page's own form is taken");
  t.match(ok.headers.get("location"), /^\/\?user=.*&done=/);
  t.match(await s.db.q("select status from videos where id = $1", [s.first]), [{ status: "failed" }]);
  t.equal((await post({ authorization: `Bearer ${TOKEN}` }, {})).status, 303, "a bearer token needs no CSRF value (browsers never send one by themselves)");
});

t.test("without DASHBOARD_TOKEN the page is read-only: no forms, and actions are refused", async (t) => {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const http = await startHttpEndpoint({
    host: "127.0.0.1", port: 0, pool: db.pool, service, metrics: createMetrics(service, policy), policy, logger: jsonLogger({}, () => {}),
  });
  t.teardown(() => http.close());
  const user = await addUser(db);
  const [video] = await queueVideos(db, user, 2);
  const page = await (await fetch(`${http.url}?user=${user}`)).text();
  t.notMatch(page, /<form method="post"/, "no action forms");
  t.match(page, /Read-only \(set DASHBOARD_TOKEN for actions\)/);
  const refused = await fetch(new URL("/actions/front", http.url), { method: "POST", body: new URLSearchParams({ video: video! }) });
  t.equal(refused.status, 403);
  t.match(await refused.text(), /actions and the JSON API are off/);
  t.same(await db.q("select max(queue_priority)::int as p from videos"), [{ p: 0 }], "nothing moved");
});

t.test("the views: users by name, a now line, 14 days of outcomes, all videos a page at a time with a filter and a search, a page per video", { skip: noBrowser }, async (t) => {
  const s = await scene(t);
  await s.db.q("update users set name = 'Cooking with Asha' where id = $1", [s.user]);
  // 120 more waiting videos (the queue shows 50), and two attempts that ended today.
  await s.db.q(`insert into videos (user_id, title, created_at) select $1, 'bulk ' || g, '2026-11-03'::timestamptz + g * interval '1 minute' from generate_series(1, 120) g`, [s.user]);
  const browser = await browserFor(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
  await page.goto(new URL("/login", s.http.url).toString());
  await page.fill("#token", TOKEN);
  await Promise.all([page.waitForURL(s.http.url), page.click("#login button")]);

  t.match(await page.locator("#user option:checked").innerText(), /^Cooking with Asha \(Asia\/Kolkata\)$/, "the select lists users by name");
  const now = page.locator("#now-line");
  t.equal(await now.count(), 1, "one now line, in today's column");
  const column = (await page.locator(".day.today .column").boundingBox())!;
  const line = (await now.boundingBox())!;
  const seconds = Number(await now.getAttribute("data-seconds"));
  t.ok(Math.abs((line.y - column.y) / column.height - seconds / 86400) < 0.01, "at the local time's height in the column");

  t.equal(await page.locator("#queue tbody tr").count(), 50, "the queue shows its first 50");
  t.match(await page.locator("#queue .more").innerText(), /73 more waiting/, "and says how many more");

  // All videos: a page at a time, a status filter and a title search.
  await Promise.all([page.waitForURL(/\/videos\?/), page.click("#all-videos")]);
  t.match(await page.locator("#videos h2").innerText(), /Videos of Cooking with Asha\s+124 in all/);
  t.equal(await page.locator("#videos tbody tr").count(), 50, "50 a page");
  t.match(await page.locator("#pages").innerText(), /Page 1 of 3/);
  await Promise.all([page.waitForURL(/page=3/), page.click("#pages a[rel=next]").then(() => page.click("#pages a[rel=next]"))]);
  t.equal(await page.locator("#videos tbody tr").count(), 24, "the last page holds the rest");
  await page.selectOption("#video-filter select[name=status]", "failed");
  await Promise.all([page.waitForURL(/status=failed/), page.click("#video-filter button")]);
  t.same(await page.locator("#videos tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-video-id"))), [s.failed], "status failed: the failed clip");
  await page.selectOption("#video-filter select[name=status]", "");
  await page.fill("#video-filter input[name=q]", "BULK 11");
  await Promise.all([page.waitForURL(/q=BULK/), page.click("#video-filter button")]);
  t.equal(await page.locator("#videos tbody tr").count(), 11, "a title search, any case: bulk 11 and bulk 110-119");

  // The chart: another user, open all day today, with one upload and one failure that ended now.
  const [{ day }] = await s.db.q("select lower(to_char(now() at time zone 'Asia/Kolkata', 'FMday')) as day");
  const other = await addUser(s.db);
  await addSlot(s.db, other, { day, start: "00:00", end: "23:59:59", max: 5 });
  const [ok, bad] = await queueVideos(s.db, other, 2);
  await s.db.q("select upload_scheduler.find_next_video_to_upload($1) from generate_series(1, 2)", [other]);
  await s.db.q("select upload_scheduler.start_upload(id) from videos where user_id = $1", [other]);
  await s.db.q("select upload_scheduler.finish_upload($1, true), upload_scheduler.finish_upload($2, false, 'rejected')", [ok, bad]);
  await page.goto(`${s.http.url}?user=${other}`);
  const days = page.locator("#chart .chart-day");
  t.equal(await days.count(), 14, "14 days in the chart");
  t.match(await days.last().evaluate((g) => ({ uploaded: g.getAttribute("data-uploaded"), failed: g.getAttribute("data-failed") })),
    { uploaded: "1", failed: "1" }, "today, the last day: one uploaded, one failed");
  t.match(await page.locator("#chart h2").innerText(), /1 uploaded, 1 failed/);
  const bars = await days.last().locator("rect").evaluateAll((r) => r.map((e) => Number(e.getAttribute("height"))));
  t.ok(bars.length === 2 && bars.every((h) => h > 0), "two bars drawn, in the page (no script, no CDN)");

  // A page per video: its state and every attempt.
  await page.goto(new URL(`/video?id=${s.failed}`, s.http.url).toString());
  t.match(await page.locator("#video h2").innerText(), /failed clip\s+failed/);
  t.match(await page.locator("#video-attempts tbody tr").first().innerText(), /1\s+failed[\s\S]*quotaExceeded/, "its attempt, with the error");
  await Promise.all([page.waitForURL((u) => u.searchParams.has("done")), page.click("#video-actions .action-retry button")]);
  t.same(await s.db.q("select status from videos where id = $1", [s.failed]), [{ status: "initiate" }], "retried from its page");
  const missing = await page.goto(new URL("/video?id=00000000-0000-4000-8000-000000000000", s.http.url).toString());
  t.equal(missing?.status(), 404);
});
