import { DateTime } from "luxon";
import type { UploadSchedulerService } from "../service.js";
import type { Health, SlotStatus, User } from "../types.js";
import type { DashboardQueries } from "./queries.js";

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

/** Everything from the database is user input (titles, slot names, errors): escaped, always. */
export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const seconds = (time: string) => {
  const [h, m, s] = time.split(":").map(Number);
  return h! * 3600 + m! * 60 + Math.floor(s!);
};

function ago(ms: number | null): string {
  if (ms === null) return "never";
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function duration(ms: number | null): string {
  if (ms === null) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/**
 * The dashboard: one server-rendered page, read-only, usable without JavaScript, refreshing
 * itself. For the chosen user (the first by default): the week as a grid in the user's zone,
 * with each slot as a block from its start to its end, today's quota and use, date exceptions
 * and the pause; the queue with the forecast's times; the latest attempts; the health row.
 */
export async function renderDashboard(
  service: UploadSchedulerService,
  queries: DashboardQueries,
  options: {
    userId?: string | null;
    policy: { interruptedAfter: string; maxAttempts: number; retryAfterMs?: number };
    now?: DateTime;
    /** With DASHBOARD_TOKEN: the forms of the actions, carrying this CSRF value. Null: read-only. */
    actions?: { csrf: string } | null;
    /** What the last action did, or why it was refused (shown once, as text). */
    notice?: { done?: string | null; error?: string | null };
  },
): Promise<{ status: number; html: string }> {
  const now = options.now ?? DateTime.now();
  const [health, users] = await Promise.all([service.health({ ...options.policy, now }), queries.listUsers()]);
  let user: User | null | undefined = users[0];
  let status = 200;
  let body: string;
  if (options.userId) {
    // A user beyond the select box's first thousand is shown too; an unknown one is said so.
    user = UUID.test(options.userId) ? users.find((u) => u.id === options.userId) ?? (await queries.getUser(options.userId)) : null;
    if (user && !users.some((u) => u.id === user!.id)) users.push(user);
  }
  const actions = options.actions ?? null;
  if (user) {
    body = await userSections(service, queries, user, now, actions, options.policy);
  } else if (options.userId) {
    status = 404;
    body = `<p class="empty" id="no-user">No user with id <code>${escapeHtml(options.userId)}</code>: choose one above.</p>`;
  } else {
    body = `<p class="empty">No user yet: <code>insert into users default values</code>.</p>`;
  }
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upload scheduler</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>Upload scheduler</h1>
  <form method="get" action="/">
    <label for="user">User</label>
    <select id="user" name="user">${users.map((u) => `<option value="${escapeHtml(u.id)}"${u.id === user?.id ? " selected" : ""}>${escapeHtml(u.name ? `${u.name} (${u.timeZone})` : `${u.id} (${u.timeZone})`)}</option>`).join("")}</select>
    <button type="submit">Show</button>
  </form>
</header>
${options.notice?.done ? `<p class="notice done" id="notice" role="status">Done: ${escapeHtml(options.notice.done)}.</p>` : ""}${options.notice?.error ? `<p class="notice error" id="notice" role="alert">Refused: ${escapeHtml(options.notice.error)}</p>` : ""}
${healthRow(health)}
${body}
<footer>${actions ? `Actions on (DASHBOARD_TOKEN). <form method="post" action="/logout" class="inline"><button type="submit">Log out</button></form>` : "Read-only (set DASHBOARD_TOKEN for actions)."} Refreshes every 30 seconds. Times are in the user's zone. <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a> · <a href="/readyz">readyz</a></footer>
</body>
</html>
`;
  return { status, html };
}

/** What an id looks like; anything else is answered as not found before the database is asked. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function healthRow(h: Health): string {
  const cell = (label: string, value: string, warn = false) =>
    `<div class="stat${warn ? " warn" : ""}"><span>${escapeHtml(label)}</span><strong>${escapeHtml(value)}</strong></div>`;
  return `<section id="health" aria-label="health of the whole scheduler">
  <h2>All users</h2>
  ${cell("last tick", ago(h.lastTickAgeMs), h.lastTickAgeMs === null || h.lastTickAgeMs > 120_000)}
  ${cell("claimed then", String(h.lastTickClaimed ?? "–"))}
  ${cell("waiting", String(h.waiting))}
  ${cell("pending", String(h.pending))}
  ${cell("uploading", String(h.uploading))}
  ${cell("failed, to retry", String(h.failedRetryable))}
  ${cell("failed for good", String(h.failedForGood), h.failedForGood > 0)}
  ${cell("oldest wait", h.oldestWaitingAgeMs === null ? "–" : ago(h.oldestWaitingAgeMs).replace(" ago", ""))}
  ${cell("overdue uploads", String(h.overdueUploads), h.overdueUploads > 0)}
  ${cell("leases run out", String(h.leasesRunOut), h.leasesRunOut > 0)}
  ${cell("outcomes unknown", String(h.unknownOutcomes), h.unknownOutcomes > 0)}
  ${cell("users held", String(h.usersHeld), h.usersHeld > 0)}
  ${cell("users limited", h.usersLimited > 0 && h.limitedUntil ? `${h.usersLimited} (until ${h.limitedUntil.toUTC().toFormat("ccc HH:mm")} UTC)` : String(h.usersLimited), h.usersLimited > 0)}
  ${cell("workers", h.workersSkewed ? `${h.workersSeen} (${h.workersSkewed} clock off)` : String(h.workersSeen), h.workersSkewed > 0)}
</section>`;
}

/** A one-button form posting an action, with the page's CSRF value; "" when actions are off. */
export function action(actions: { csrf: string } | null, name: string, fields: Record<string, string>, label: string, extra = ""): string {
  if (!actions) return "";
  const hidden = Object.entries({ ...fields, csrf: actions.csrf }).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join("");
  return `<form method="post" action="/actions/${name}" class="inline action-${name}">${hidden}${extra}<button type="submit">${escapeHtml(label)}</button></form>`;
}

async function userSections(
  service: UploadSchedulerService, queries: DashboardQueries, user: User, now: DateTime,
  actions: { csrf: string } | null = null, policy: { maxAttempts: number; retryAfterMs?: number } = { maxAttempts: 3 },
): Promise<string> {
  const local = now.setZone(user.timeZone);
  const week = Array.from({ length: 7 }, (_, i) => local.startOf("day").plus({ days: i }));
  const back = { back: user.id };
  const [slots, queue, attempts, exceptions, claimed, limits, failed, daily] = await Promise.all([
    service.getSlotStatus(user.id, now),
    service.upcomingUploads({ userId: user.id, now }),
    queries.recentAttempts({ userId: user.id, limit: 20 }),
    queries.getExceptions(user.id, week[0]!.toISODate()!, week[6]!.toISODate()!),
    queries.claimedVideos(user.id),
    service.limitStatus(user.id, now),
    queries.failedVideos(user.id),
    queries.dailyOutcomes(user.id, 14),
  ]);
  const titles = new Map<string, string | null>();
  if (queue.length > 0) {
    for (const v of await queries.videoTitles(queue.map((q) => q.videoId))) titles.set(v.id, v.title);
  }
  const paused = user.uploadsPausedUntil;
  const pause = paused === null || (paused !== "infinity" && paused <= now)
    ? ""
    : `<div class="paused" id="pause">Paused ${paused === "infinity" ? "until resumed" : `until ${escapeHtml(paused.setZone(user.timeZone).toFormat("ccc d LLL HH:mm"))}`}${user.pauseReason ? `: ${escapeHtml(user.pauseReason)}` : ""}. Nothing of this user is claimed meanwhile. ${action(actions, "resume", { user: user.id, ...back }, "Resume uploads")}</div>`;
  const pauseForm = pause === "" && actions
    ? `<div id="pause-form">${action(actions, "pause", { user: user.id, ...back }, "Pause uploads", `<label>reason <input name="reason" maxlength="200" placeholder="why (optional)"></label>`)}</div>`
    : "";
  const held = user.heldUntil && user.heldUntil > now
    ? `<p class="paused" id="hold">Held until ${escapeHtml(user.heldUntil.setZone(user.timeZone).toFormat("ccc d LLL HH:mm"))}${user.holdReason ? `: ${escapeHtml(user.holdReason)}` : ""} (the destination said to retry later). Nothing of this user is claimed meanwhile.</p>`
    : "";
  const retryable = (v: (typeof failed)[number]) =>
    v.lastOutcome === "withdrawn" ? "withdrawn: never retried by the sweep"
      : v.lastOutcome === "permanent" ? "failed for good (the destination refused it)"
      : v.attempts - v.freeAttempts >= policy.maxAttempts ? `attempts used up (${policy.maxAttempts}): only a retry by hand sends it again`
      : policy.retryAfterMs !== undefined && v.finishedAt
        ? `retried by the first tick after ${v.finishedAt.plus({ milliseconds: policy.retryAfterMs }).toFormat("ccc d LLL HH:mm")} (RETRY_FAILED_AFTER after it failed)`
        : "retried by the sweep after the cool-down (RETRY_FAILED_AFTER)";
  return `${pause}${held}${pauseForm}
<section id="week" aria-label="week">
  <h2>The week <small>in ${escapeHtml(user.timeZone)}, now ${escapeHtml(local.toFormat("cccc d LLLL, HH:mm"))}</small></h2>
  <div class="grid">
    <div class="hours">${Array.from({ length: 25 }, (_, h) => `<span style="top:${(h / 24) * 100}%">${String(h).padStart(2, "0")}:00</span>`).join("")}</div>
    ${week.map((date) => dayColumn(date, slots, exceptions, local)).join("\n    ")}
  </div>
  ${actions && slots.length ? `<details id="slot-switches"><summary>Switch slots on or off</summary><ul>${slots.map((s) => `<li data-slot-id="${escapeHtml(s.slotId)}">${escapeHtml(s.slotName ?? "slot")} · ${escapeHtml(s.day)} ${escapeHtml(s.startTime.slice(0, 5))}–${escapeHtml(s.endTime.slice(0, 5))} · ${s.isActive ? "on" : "off"} ${action(actions, "slot", { slot: s.slotId, active: s.isActive ? "false" : "true", ...back }, s.isActive ? "Switch off" : "Switch on")}</li>`).join("")}</ul></details>` : ""}
</section>
${limits.length === 0 ? "" : `<section id="limits" aria-label="limits">
  <h2>Limits <small>the platforms' caps, beside the slots</small></h2>
  <table>
    <thead><tr><th>at most</th><th>used now</th><th>holds claims</th><th>note</th></tr></thead>
    <tbody>${limits.map((l) => `<tr class="${l.holdsUntil ? "full" : ""}"><td>${l.maxUploads} ${escapeHtml(l.timeZone ? `per ${perText(l.perSeconds)} from midnight in ${l.timeZone}` : `in any ${perText(l.perSeconds)}`)}</td><td>${l.used}</td><td>${l.holdsUntil ? `until ${escapeHtml(l.holdsUntil.toFormat("ccc d LLL HH:mm"))}` : "no"}</td><td>${escapeHtml(l.note ?? "")}</td></tr>`).join("")}</tbody>
  </table>
</section>`}
<section id="queue" aria-label="queue">
  <h2>The queue <small>when each waiting video goes out, if every earlier upload succeeds</small></h2>
  ${queue.length + claimed.length === 0 ? `<p class="empty">Nothing waits.</p>` : `<table>
    <thead><tr><th>#</th><th>video</th><th>slot</th><th>expected</th>${actions ? "<th>actions</th>" : ""}</tr></thead>
    <tbody>${claimed.map((c) => `<tr class="claimed" data-video-id="${escapeHtml(c.id)}"><td>${c.status === "uploading" ? "↑" : "·"}</td><td>${escapeHtml(c.title ?? c.id)}</td><td>${escapeHtml(c.slotName ?? "")}</td><td class="expected">${c.status === "uploading" ? `uploading since ${escapeHtml(c.startedAt?.toFormat("ccc d LLL HH:mm") ?? "")}${progress(c.bytesSent, c.bytesTotal)}` : `claimed ${escapeHtml(c.claimedAt?.toFormat("ccc d LLL HH:mm") ?? "")}, upload starting`}</td>${actions ? "<td></td>" : ""}</tr>`).join("")}${queue.slice(0, QUEUE_ROWS).map((q) => `<tr data-video-id="${escapeHtml(q.videoId)}"><td>${q.queuePosition}</td><td>${videoLink(q.videoId, titles.get(q.videoId) ?? null)}</td><td>${escapeHtml(q.slotName ?? (q.slotId ? "" : "–"))}</td><td class="expected">${q.expectedAt ? escapeHtml(q.expectedAt.toFormat("ccc d LLL HH:mm")) : "not within 7 days"}</td>${actions ? `<td>${q.queuePosition > 1 ? action(actions, "front", { video: q.videoId, ...back }, "Upload next") : ""}${action(actions, "withdraw", { video: q.videoId, ...back }, "Cancel", `<input name="reason" maxlength="200" placeholder="reason" aria-label="reason">`)}</td>` : ""}</tr>`).join("")}</tbody>
  </table>`}
  <p class="more">${queue.length > QUEUE_ROWS ? `${queue.length - QUEUE_ROWS} more waiting. ` : ""}<a id="all-videos" href="/videos?user=${escapeHtml(user.id)}">All videos</a> (search, filter by status).</p>
</section>
${chart(daily)}
${failed.length === 0 ? "" : `<section id="failed" aria-label="failed videos">
  <h2>Failed <small>and what happens to each next</small></h2>
  <table>
    <thead><tr><th>video</th><th>attempts</th><th>last error</th><th>failed</th><th>next</th>${actions ? "<th>actions</th>" : ""}</tr></thead>
    <tbody>${failed.map((v) => `<tr data-video-id="${escapeHtml(v.id)}"><td>${videoLink(v.id, v.title)}</td><td>${v.attempts}</td><td>${escapeHtml(v.lastError ?? "")}</td><td>${escapeHtml(v.finishedAt?.toFormat("ccc d LLL HH:mm") ?? "")}</td><td>${escapeHtml(retryable(v))}</td>${actions ? `<td>${action(actions, "retry", { video: v.id, ...back }, "Retry now")}</td>` : ""}</tr>`).join("")}</tbody>
  </table>
</section>`}
<section id="attempts" aria-label="attempts">
  <h2>Recent attempts</h2>
  ${attempts.length === 0 ? `<p class="empty">No attempt yet.</p>` : `<table>
    <thead><tr><th>video</th><th>attempt</th><th>outcome</th><th>started</th><th>took</th><th>error</th><th>worker</th><th>at the destination</th></tr></thead>
    <tbody>${attempts.map((a) => `<tr class="outcome-${escapeHtml(a.outcome ?? "running")}"><td>${videoLink(a.videoId, a.title)}</td><td>${a.attempt}</td><td>${escapeHtml(a.outcome ?? "uploading")}</td><td>${escapeHtml((a.startedAt ?? a.claimedAt)?.toFormat("ccc d LLL HH:mm") ?? "")}</td><td>${escapeHtml(duration(a.durationMs))}</td><td>${escapeHtml(a.error ?? "")}</td><td>${escapeHtml(a.worker ?? "")}</td><td>${a.remoteUrl ? (/^https?:\/\//i.test(a.remoteUrl) ? `<a class="remote" href="${escapeHtml(a.remoteUrl)}">${escapeHtml(a.remoteUrl)}</a>` : escapeHtml(a.remoteUrl)) : ""}</td></tr>`).join("")}</tbody>
  </table>`}
</section>`;
}

/** The queue's rows shown on the main page; the rest are on /videos. */
const QUEUE_ROWS = 50;

export function videoLink(id: string, title: string | null): string {
  return `<a href="/video?id=${escapeHtml(id)}">${escapeHtml(title ?? id)}</a>`;
}

/** Uploads (green) and failures (red) per local day, as an inline SVG (no script, no CDN). */
function chart(daily: Array<{ date: string; uploaded: number; failed: number }>): string {
  const max = Math.max(1, ...daily.map((d) => Math.max(d.uploaded, d.failed)));
  const w = 28;
  const h = 100;
  const bars = daily.map((d, i) => {
    const x = i * w;
    const up = (d.uploaded / max) * h;
    const down = (d.failed / max) * h;
    const label = `${d.date}: ${d.uploaded} uploaded, ${d.failed} failed`;
    return `<g class="chart-day" data-date="${escapeHtml(d.date)}" data-uploaded="${d.uploaded}" data-failed="${d.failed}"><title>${escapeHtml(label)}</title>` +
      `<rect class="up" x="${x + 3}" y="${h - up}" width="10" height="${up}"></rect><rect class="down" x="${x + 14}" y="${h - down}" width="10" height="${down}"></rect>` +
      `<text x="${x + 14}" y="${h + 14}" text-anchor="middle">${escapeHtml(d.date.slice(8))}</text></g>`;
  }).join("");
  const total = daily.reduce((a, d) => [a[0]! + d.uploaded, a[1]! + d.failed], [0, 0]);
  return `<section id="chart" aria-label="uploads and failures per day">
  <h2>The last ${daily.length} days <small>${total[0]} uploaded, ${total[1]} failed (attempts that ended, by the user's day)</small></h2>
  <svg role="img" aria-label="uploads and failures per day" viewBox="0 0 ${daily.length * w} ${h + 18}" width="${daily.length * w}" height="${h + 18}">${bars}</svg>
</section>`;
}

/** A window's length in words: "24 hours", "1 day", "7 days", "90 minutes". */
function perText(seconds: number): string {
  if (seconds % 86400 === 0 && seconds !== 86400 * 1) return `${seconds / 86400} days`;
  if (seconds === 86400) return "1 day";
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? "" : "s"}`;
  return `${Math.round(seconds / 60)} minutes`;
}

/** ", 45 % (12.3 of 27.0 MB)" for a running upload that reported its bytes; "" otherwise. */
export function progress(sent: number | null, total: number | null): string {
  if (sent === null) return "";
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (!total) return `, ${escapeHtml(mb(sent))} MB sent`;
  return `, <span class="progress">${Math.floor((100 * sent) / total)} % (${escapeHtml(mb(sent))} of ${escapeHtml(mb(total))} MB)</span>`;
}

function dayColumn(date: DateTime, slots: SlotStatus[], exceptions: Awaited<ReturnType<DashboardQueries["getExceptions"]>>, local: DateTime): string {
  const day = DAYS[date.weekday - 1]!;
  const iso = date.toISODate()!;
  const isToday = iso === local.toISODate();
  const dayExceptions = exceptions.filter((e) => e.localDate === iso);
  const wholeDay = dayExceptions.find((e) => e.slotId === null);
  const blocks = slots.filter((s) => s.day === day).map((s) => {
    const start = seconds(s.startTime);
    const end = seconds(s.endTime) + 1;
    const own = dayExceptions.find((e) => e.slotId === s.slotId) ?? wholeDay;
    const quota = own ? own.maxUploads : s.maxUploads;
    const use = isToday && s.usedToday !== null ? `${s.usedToday} of ${s.quotaToday ?? quota} used today` : `${quota} upload${quota === 1 ? "" : "s"}`;
    return `<div class="slot${s.isActive ? "" : " inactive"}${s.isOpenNow ? " open" : ""}${own ? " exception" : ""}" tabindex="0" data-slot-id="${escapeHtml(s.slotId)}" data-day="${day}" data-start="${start}" data-end="${end}"
        style="top:${(start / 86400) * 100}%;height:${((end - start) / 86400) * 100}%"
        title="${escapeHtml(`${s.startTime}–${s.endTime}${s.minInterval ? `, paced ${s.minInterval}` : ""}`)}">
        <b class="name">${escapeHtml(s.slotName ?? "slot")}</b> <span class="times">${escapeHtml(s.startTime.slice(0, 5))}–${escapeHtml(s.endTime.slice(0, 5))}</span>
        <span class="use">${escapeHtml(use)}${s.isActive ? "" : " · off"}${own ? ` · exception${own.note ? `: ${escapeHtml(own.note)}` : ""}` : ""}</span>
      </div>`;
  });
  const note = wholeDay ? `<span class="day-exception">${escapeHtml(wholeDay.maxUploads === 0 ? "no uploads" : `${wholeDay.maxUploads} per slot`)}${wholeDay.note ? `: ${escapeHtml(wholeDay.note)}` : ""}</span>` : "";
  const nowSeconds = local.hour * 3600 + local.minute * 60 + local.second;
  const nowLine = isToday ? `<div class="now" id="now-line" data-seconds="${nowSeconds}" style="top:${(nowSeconds / 86400) * 100}%" title="now, ${escapeHtml(local.toFormat("HH:mm"))}"></div>` : "";
  return `<div class="day${isToday ? " today" : ""}" data-day="${day}" data-date="${iso}">
      <h3>${escapeHtml(date.toFormat("ccc d LLL"))}${note}</h3>
      <div class="column">${blocks.join("")}${nowLine}</div>
    </div>`;
}

export const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; color: #1d2430; background: #fafbfc; }
header { display: flex; align-items: center; gap: 2rem; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; } h2 small { font-weight: normal; color: #667; }
form { display: flex; gap: .5rem; align-items: center; }
#health { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
#health h2 { font-size: .8rem; color: #667; margin: 0; width: 100%; font-weight: normal; }
.stat { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: .35rem .7rem; min-width: 7rem; }
.stat span { display: block; color: #667; font-size: .8rem; } .stat.warn { border-color: #d08a00; background: #fff7e6; }
.paused { background: #fff0f0; border: 1px solid #d66; padding: .5rem .8rem; border-radius: 6px; }
.grid { display: grid; grid-template-columns: 3.5rem repeat(7, minmax(0, 1fr)); gap: 4px; }
section { max-width: 100%; overflow-x: auto; } select { max-width: 100%; }
@media (max-width: 600px) {
  body { margin: 0 .5rem 1rem; } header { flex-wrap: wrap; gap: .5rem; } header form { flex-wrap: wrap; }
  .grid { grid-template-columns: 2rem repeat(7, minmax(0, 1fr)); gap: 2px; } .hours { font-size: .55rem; }
  .day h3 { font-size: .65rem; } .slot { font-size: .6rem; padding: 0 1px; } .stat { min-width: 5.5rem; }
  form.inline input[name=reason] { width: 5rem; }
}
.hours { position: relative; margin-top: 2.2rem; height: 720px; font-size: .7rem; color: #889; }
.hours span { position: absolute; transform: translateY(-50%); }
.day h3 { font-size: .85rem; margin: 0; height: 2.2rem; } .day.today h3 { color: #0b63c5; }
.day-exception { display: block; font-weight: normal; color: #b44; font-size: .75rem; }
.column { position: relative; height: 720px; background: repeating-linear-gradient(#fff 0 29px, #eef0f3 29px 30px); border: 1px solid #dde; }
.day.today .column { border-color: #0b63c5; }
.slot { position: absolute; left: 2px; right: 2px; overflow: hidden; background: #dbe9ff; border: 1px solid #7aa7e8; border-radius: 4px; padding: 1px 4px; font-size: .72rem; box-sizing: border-box; min-height: 1.1rem; }
.slot.open { background: #c6f0d2; border-color: #3aa35b; } .slot.inactive { background: #eee; border-style: dashed; color: #777; }
/* A short slot shows its name; pointing at it or tabbing to it unfolds the rest over the column. */
.slot:hover, .slot:focus { overflow: visible; height: auto !important; min-height: 3.2rem; z-index: 3; box-shadow: 0 2px 6px rgba(0,0,0,.25); }
.slot.exception { border-color: #c44; } .slot .use, .slot .times { display: block; color: #456; }
table { border-collapse: collapse; background: #fff; } th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #eef; }
.outcome-failed td, .outcome-timed_out td, .outcome-interrupted td { color: #a22; } .empty { color: #667; }
footer { margin-top: 2rem; color: #889; font-size: .8rem; }
.day .now { position: absolute; left: 0; right: 0; border-top: 2px solid #d22; z-index: 2; }
#chart svg { max-width: 100%; height: auto; } #chart rect.up { fill: #3aa35b; } #chart rect.down { fill: #c44; } #chart text { font-size: 9px; fill: #667; }
form.inline { display: inline-flex; margin: 0 .3rem 0 0; } form.inline input[name=reason] { width: 8rem; }
.notice { padding: .5rem .8rem; border-radius: 6px; } .notice.done { background: #eefaf0; border: 1px solid #3aa35b; } .notice.error { background: #fff0f0; border: 1px solid #d66; }
#login { max-width: 28rem; } #login form { display: flex; gap: .5rem; }
`;

/** A page of the endpoint other than the dashboard: its title, the header, `body`. */
export function htmlPage(title: string, body: string, options: { refreshSeconds?: number; homeLink?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${options.refreshSeconds ? `<meta http-equiv="refresh" content="${options.refreshSeconds}">\n` : ""}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upload scheduler: ${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${options.homeLink ? `<a href="/">Upload scheduler</a>` : "Upload scheduler"}</h1></header>
${body}
</body>
</html>
`;
}

/** The login page (DASHBOARD_TOKEN set), or why there is none. */
export function renderLogin(state: { wrong?: boolean; off?: boolean; csrf?: boolean }): string {
  const body = state.off
    ? `<p class="paused">The dashboard's actions and the JSON API are off: this worker has no <code>DASHBOARD_TOKEN</code>. The page at <a href="/">/</a> is read-only.</p>`
    : state.csrf
      ? `<p class="paused">The action was refused: it did not come from this dashboard's page (its CSRF token was missing or wrong). Go back to <a href="/">the dashboard</a> and try again.</p>`
      : `${state.wrong ? `<p class="paused" role="alert">That is not the token.</p>` : ""}<form method="post" action="/login"><label for="token">Token</label><input id="token" name="token" type="password" autocomplete="current-password" required><button type="submit">Log in</button></form>
<p>The token is the worker's <code>DASHBOARD_TOKEN</code>.</p>`;
  return htmlPage("log in", `<section id="login">${body}</section>`);
}

/**
 * The page shown while the database does not answer: what is wrong, that the worker goes on,
 * and that the page tries again on its own.
 */
export function renderUnavailable(reason: string, retrySeconds = 10): string {
  return htmlPage("the database does not answer", `<p class="paused" id="unavailable"><strong>The database does not answer</strong> (${escapeHtml(reason)}), so the schedule cannot be shown now.
This page tries again every ${retrySeconds} seconds.</p>
<p>The worker goes on: uploads already running finish, and their outcomes are kept in its journal until the
database takes them. <a href="/healthz">/healthz</a> says when the database answers again; <a href="/metrics">/metrics</a>
answers meanwhile, with <code>upload_scheduler_database_up 0</code>.</p>`, { refreshSeconds: retrySeconds });
}
