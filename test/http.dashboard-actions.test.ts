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
const policy = { interruptedAfter: "35 minutes", maxAttempts: 3 };
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
  t.match(await page.locator(`#failed tr[data-video-id="${s.failed}"]`).innerText(), /quotaExceeded[\s\S]*retried by the sweep/,
    "the failed video, its error and what happens next");
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
