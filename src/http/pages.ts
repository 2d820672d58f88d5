import type { UploadSchedulerService } from "../service.js";
import type { Video } from "../types.js";
import { action, duration, escapeHtml, htmlPage, progress, UUID, videoLink } from "./dashboard.js";
import type { DashboardQueries } from "./queries.js";

const STATUSES = ["initiate", "pending", "uploading", "success", "failed"] as const;
const PAGE = 50;
const when = (v: { toFormat(f: string): string } | null) => (v ? v.toFormat("ccc d LLL yyyy HH:mm") : "");

const page = (title: string, body: string) => htmlPage(title, body, { homeLink: true });

/**
 * /videos?user=…&status=…&q=…&page=…: a user's videos, newest first, fifty a page, filtered by
 * status and by a part of the title.
 */
export async function renderVideosPage(
  queries: DashboardQueries,
  options: { userId: string | null; status: string | null; search: string | null; page: number },
): Promise<{ status: number; html: string }> {
  const user = options.userId && UUID.test(options.userId) ? await queries.getUser(options.userId) : null;
  if (!user) {
    return { status: 404, html: page("No such user", `<p class="empty" id="no-user">No user with id <code>${escapeHtml(options.userId ?? "")}</code>. <a href="/">Back</a>.</p>`) };
  }
  const status = STATUSES.includes(options.status as never) ? options.status : null;
  const pageNo = Number.isInteger(options.page) && options.page > 0 ? options.page : 1;
  const { total, videos } = await queries.videos(user.id, { status, search: options.search, limit: PAGE, offset: (pageNo - 1) * PAGE });
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const link = (p: number) => {
    const q = new URLSearchParams({ user: user.id, page: String(p) });
    if (status) q.set("status", status);
    if (options.search) q.set("q", options.search);
    return `/videos?${q}`;
  };
  const rows = videos.map((v: Video) => `<tr data-video-id="${escapeHtml(v.id)}"><td>${videoLink(v.id, v.title)}</td><td>${escapeHtml(v.status)}</td><td>${v.attempts}</td><td>${escapeHtml(when(v.createdAt))}</td><td>${escapeHtml(v.lastError ?? "")}</td></tr>`).join("");
  return {
    status: 200,
    html: page("Videos", `<section id="videos" aria-label="videos">
  <h2>Videos of ${escapeHtml(user.name ?? user.id)} <small>${total} in all, newest first</small></h2>
  <form method="get" action="/videos" id="video-filter">
    <input type="hidden" name="user" value="${escapeHtml(user.id)}">
    <label>status <select name="status"><option value="">any</option>${STATUSES.map((s) => `<option${s === status ? " selected" : ""}>${s}</option>`).join("")}</select></label>
    <label>title <input name="q" value="${escapeHtml(options.search ?? "")}" placeholder="part of the title"></label>
    <button type="submit">Filter</button>
  </form>
  ${videos.length === 0 ? `<p class="empty">No video matches.</p>` : `<table><thead><tr><th>video</th><th>status</th><th>attempts</th><th>queued</th><th>last error</th></tr></thead><tbody>${rows}</tbody></table>`}
  <p class="pages" id="pages">Page ${pageNo} of ${pages}${pageNo > 1 ? ` · <a rel="prev" href="${escapeHtml(link(pageNo - 1))}">previous</a>` : ""}${pageNo < pages ? ` · <a rel="next" href="${escapeHtml(link(pageNo + 1))}">next</a>` : ""} · <a href="/?user=${escapeHtml(user.id)}">back to the week</a></p>
</section>`),
  };
}

/** /video?id=…: one video, its state, progress, where it landed, and every attempt. */
export async function renderVideoPage(
  service: UploadSchedulerService,
  queries: DashboardQueries,
  options: { videoId: string | null; actions: { csrf: string } | null },
): Promise<{ status: number; html: string }> {
  const video = options.videoId && UUID.test(options.videoId) ? await service.getVideo(options.videoId) : null;
  if (!video) {
    return { status: 404, html: page("No such video", `<p class="empty" id="no-video">No video with id <code>${escapeHtml(options.videoId ?? "")}</code>. <a href="/">Back</a>.</p>`) };
  }
  const attempts = await queries.attemptsOf(video.id);
  const back = { back: video.userId };
  const field = (label: string, value: string) => `<tr><th>${escapeHtml(label)}</th><td>${value}</td></tr>`;
  const actions = options.actions;
  const buttons = [
    video.status === "failed" ? action(actions, "retry", { video: video.id, ...back }, "Retry now") : "",
    video.status === "initiate" ? action(actions, "front", { video: video.id, ...back }, "Upload next") : "",
    video.status === "initiate" || (video.status === "failed" && video.lastOutcome !== "withdrawn")
      ? action(actions, "withdraw", { video: video.id, ...back }, "Cancel", `<input name="reason" maxlength="200" placeholder="reason" aria-label="reason">`) : "",
  ].join("");
  return {
    status: 200,
    html: page(video.title ?? video.id, `<section id="video" aria-label="video" data-video-id="${escapeHtml(video.id)}">
  <h2>${escapeHtml(video.title ?? video.id)} <small>${escapeHtml(video.status)}</small></h2>
  <table>
    ${field("id", `<code>${escapeHtml(video.id)}</code>`)}
    ${field("user", `<a href="/?user=${escapeHtml(video.userId)}">${escapeHtml(video.userId)}</a>`)}
    ${field("status", escapeHtml(video.status) + (video.status === "uploading" ? progress(video.bytesSent, video.bytesTotal) : ""))}
    ${field("attempts", String(video.attempts))}
    ${field("queued", escapeHtml(when(video.createdAt)))}
    ${field("not before", escapeHtml(when(video.notBefore)))}
    ${field("last outcome", escapeHtml(video.lastOutcome ?? ""))}
    ${field("last error", escapeHtml(video.lastError ?? ""))}
    ${field("at the destination", video.remoteUrl && /^https?:\/\//i.test(video.remoteUrl) ? `<a class="remote" href="${escapeHtml(video.remoteUrl)}">${escapeHtml(video.remoteUrl)}</a>` : escapeHtml(video.remoteUrl ?? video.remoteId ?? ""))}
    ${field("platform id", escapeHtml(video.remoteId ?? ""))}
  </table>
  ${buttons ? `<div id="video-actions">${buttons}</div>` : ""}
  <h3>Attempts</h3>
  ${attempts.length === 0 ? `<p class="empty">No attempt yet.</p>` : `<table id="video-attempts"><thead><tr><th>attempt</th><th>outcome</th><th>claimed</th><th>started</th><th>took</th><th>error</th><th>worker</th></tr></thead><tbody>${attempts.map((a) => `<tr class="outcome-${escapeHtml(a.outcome ?? "running")}"><td>${a.attempt}</td><td>${escapeHtml(a.outcome ?? "running")}</td><td>${escapeHtml(when(a.claimedAt))}</td><td>${escapeHtml(when(a.startedAt))}</td><td>${escapeHtml(duration(a.durationMs))}</td><td>${escapeHtml(a.error ?? "")}</td><td>${escapeHtml(a.worker ?? "")}</td></tr>`).join("")}</tbody></table>`}
</section>`),
  };
}
