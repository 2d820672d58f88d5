// The JSON API under the worker's HTTP endpoint: off without DASHBOARD_TOKEN, a bearer token with
// it, every route of /openapi.json answering as described, and the database changed as psql's
// functions change it. /openapi.json is a valid OpenAPI 3.1 document (checked against the
// specification's schema by @seriousme/openapi-schema-validator).
import t, { type Test } from "tap";
import { Validator } from "@seriousme/openapi-schema-validator";
import { UploadSchedulerService } from "../src/index.js";
import { createMetrics } from "../src/metrics.js";
import { startHttpEndpoint } from "../src/http/server.js";
import { EndpointAuth } from "../src/http/auth.js";
import { OPENAPI } from "../src/http/openapi.js";
import { jsonLogger } from "../src/log.js";
import { testDatabase } from "./fixtures/db.js";
import { addUser, queueVideos } from "./fixtures/scenario.js";

const TOKEN = "a-token-of-the-tests-0123456789";
const policy = { interruptedAfter: "35 minutes", maxAttempts: 3 };

async function endpoint(t: Test, token: string | null) {
  const db = await testDatabase(t);
  const service = new UploadSchedulerService(db.pool);
  const http = await startHttpEndpoint({
    host: "127.0.0.1", port: 0, pool: db.pool, service, metrics: createMetrics(service, policy), policy,
    logger: jsonLogger({}, () => {}), auth: new EndpointAuth(token),
  });
  t.teardown(() => http.close());
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => {
    const response = await fetch(new URL(path, http.url), {
      method, headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  };
  return { db, service, http, call };
}

t.test("/openapi.json is a valid OpenAPI 3.1 document, served without a token", async (t) => {
  const { call } = await endpoint(t, TOKEN);
  const { status, body } = await call("GET", "/openapi.json", undefined, {});
  t.equal(status, 200);
  t.same(body, JSON.parse(JSON.stringify(OPENAPI)), "the document the code describes");
  const result = await new Validator().validate(body);
  t.same(result.errors ?? [], [], "no schema error");
  t.equal(result.valid, true, "valid OpenAPI 3.1");
  t.ok(Object.keys(body.paths).length >= 9, `${Object.keys(body.paths).length} paths`);
});

t.test("without DASHBOARD_TOKEN the API is off (403, saying how to switch it on)", async (t) => {
  const { call, db } = await endpoint(t, null);
  const user = await addUser(db);
  const off = await call("GET", `/api/users/${user}/schedule`);
  t.equal(off.status, 403);
  t.match(off.body, { error: { message: /The JSON API is off: this worker has no DASHBOARD_TOKEN/, hint: /DASHBOARD_TOKEN/ } });
  t.equal((await call("POST", `/api/users/${user}/pause`, {})).status, 403, "writes too");
});

t.test("with it, a request without the token, or with another, is refused (401), and changes nothing", async (t) => {
  const { call, db } = await endpoint(t, TOKEN);
  const user = await addUser(db);
  const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer not-the-token-at-all-000" }, { authorization: `Basic ${TOKEN}` }, { cookie: "upsched_session=forged" }];
  for (const headers of attempts) {
    const r = await call("POST", `/api/users/${user}/pause`, {}, headers);
    t.equal(r.status, 401, `refused: ${JSON.stringify(headers)}`);
    t.match(r.headers.get("www-authenticate"), /^Bearer/);
  }
  t.same(await db.q("select uploads_paused_until from users where id = $1", [user]), [{ uploads_paused_until: null }], "not paused");
});

t.test("every route of the document answers as it says, through the same SQL functions as psql", async (t) => {
  const { call, db } = await endpoint(t, TOKEN);
  const user = await addUser(db);
  const called = new Set<string>();
  const api = async (method: string, template: string, path: string, body?: unknown) => {
    called.add(`${method.toLowerCase()} ${template}`);
    return call(method, path, body);
  };

  t.match(await api("GET", "/api/health", "/api/health"), { status: 200, body: { waiting: 0, users_limited: 0 } });

  const week = {
    slots: [{ day: "monday", start_time: "09:00:00", end_time: "11:59:59", max_uploads: 2, slot_name: "morning" }],
    limits: [{ max_uploads: 50, per: "24 hours", note: "Instagram" }],
  };
  const put = await api("PUT", "/api/users/{user}/schedule", `/api/users/${user}/schedule`, week);
  t.equal(put.status, 200);
  t.match(put.body, { slots: [{ day: "monday", start_time: "09:00:00", max_uploads: 2, slot_name: "morning" }], limits: [{ max_uploads: 50, note: "Instagram" }] });
  t.same((await api("GET", "/api/users/{user}/schedule", `/api/users/${user}/schedule`)).body, put.body, "read back as written");
  t.same(await db.q("select count(*)::int as n from upload_schedules where user_id = $1", [user]), [{ n: 1 }], "in the table");
  const bad = await call("PUT", `/api/users/${user}/schedule`, { slots: [{ day: "funday", start_time: "09:00:00", end_time: "10:00:00" }] });
  t.match(bad, { status: 400, body: { error: { code: "UPDAY", message: /day "funday" is not a weekday/, hint: /monday/ } } }, "a bad week: the SQL error, its code and hint");
  t.equal((await call("PUT", `/api/users/${user}/schedule`, "{not json")).status, 400, "a body that is not JSON");

  const added = await api("POST", "/api/users/{user}/videos", `/api/users/${user}/videos`, { title: "launch trailer", source_path: "/tmp/x.mp4" });
  t.match(added, { status: 201, body: { title: "launch trailer", status: "initiate", user_id: user } });
  const [second, third] = await queueVideos(db, user, 2);
  t.match(await call("POST", `/api/users/${user}/videos`, { title: "x", color: "red" }), { status: 400, body: { error: { message: /Unknown key "color"/ } } });

  const list = await api("GET", "/api/users/{user}/videos", `/api/users/${user}/videos?status=initiate&limit=2`);
  t.match(list, { status: 200, body: { total: 3 } });
  t.equal(list.body.videos.length, 2, "a page of 2 of the 3");
  t.same((await call("GET", `/api/users/${user}/videos?search=TRAILER`)).body.videos.map((v: any) => v.id), [added.body.id], "search by title, any case");
  t.match(await call("GET", `/api/users/${user}/videos?status=exploded`), { status: 400, body: { error: { hint: /initiate, pending/ } } });

  const queue = await api("GET", "/api/users/{user}/queue", `/api/users/${user}/queue`);
  const order = (await db.q("select id from videos where status = 'initiate' order by queue_priority desc, created_at, id")).map((r: any) => r.id);
  t.same(queue.body.map((q: any) => q.video_id), order, "the queue in the claim's order");
  t.same(queue.body.map((q: any) => q.queue_position), [1, 2, 3]);

  const front = await api("POST", "/api/videos/{video}/front", `/api/videos/${third}/front`);
  t.match(front, { status: 200, body: { id: third } });
  t.same((await call("GET", `/api/users/${user}/queue`)).body.map((q: any) => q.video_id)[0], third, "moved to the head");

  const cancel = await api("POST", "/api/videos/{video}/cancel", `/api/videos/${second}/cancel`, { reason: "the client pulled it" });
  t.match(cancel, { status: 200, body: { status: "failed", last_outcome: "withdrawn", last_error: "withdrawn: the client pulled it" } });
  const again = await call("POST", `/api/videos/${second}/cancel`, {});
  t.match(again, { status: 409, body: { error: { code: "UPSTS" } } }, "withdrawn twice: a conflict with its code");

  const retry = await api("POST", "/api/videos/{video}/retry", `/api/videos/${second}/retry`);
  t.match(retry, { status: 200, body: { status: "initiate" } }, "a withdrawn video back in the queue");

  t.match(await api("GET", "/api/videos/{video}", `/api/videos/${second}`), { status: 200, body: { id: second, status: "initiate" } });
  t.match(await call("GET", "/api/videos/00000000-0000-4000-8000-000000000000"), { status: 404 });
  t.match(await call("GET", "/api/videos/not-a-uuid"), { status: 400, body: { error: { message: /is not an id/ } } });

  const pause = await api("POST", "/api/users/{user}/pause", `/api/users/${user}/pause`, { reason: "channel review" });
  t.match(pause, { status: 200, body: { paused_until: "infinity", pause_reason: "channel review" } });
  t.same(await db.q("select pause_reason from users where id = $1", [user]), [{ pause_reason: "channel review" }]);
  t.match(await api("POST", "/api/users/{user}/resume", `/api/users/${user}/resume`), { status: 200, body: { paused_until: null } });
  t.same(await db.q("select uploads_paused_until from users where id = $1", [user]), [{ uploads_paused_until: null }]);
  t.match(await call("POST", "/api/users/00000000-0000-4000-8000-000000000000/pause", {}), { status: 404, body: { error: { code: "UPNUS" } } });

  t.match(await call("DELETE", `/api/users/${user}/schedule`), { status: 404, body: { error: { hint: /openapi\.json/ } } }, "an unknown route says where the routes are");

  // Every operation the document lists was called above.
  const documented = Object.entries(OPENAPI.paths).flatMap(([path, ops]) =>
    Object.keys(ops).filter((k) => k !== "parameters").map((method) => `${method} ${path}`));
  t.same([...called].sort(), documented.sort(), "each documented route was called, and only those");
});
