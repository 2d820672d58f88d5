// Several destinations in one deployment: one worker serves a user whose destination is the tus
// server (with credentials named in the table, their secret in the environment), a user on the
// default MEDIA_PROCESS_MODULE, and a video that names the built-in local destination itself.
import t from "tap";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { testDatabase } from "./fixtures/db.js";
import { tusServer } from "./fixtures/tus-server.js";
import { SCRIPTED_MEDIA, mediaLog, startWorker, waitFor } from "./fixtures/worker.js";

t.test("a user's destination and credentials, a video's own destination, and the default, served by one worker", async (t) => {
  const db = await testDatabase(t);
  const tus = await tusServer(t);
  const dir = mkdtempSync(path.join(tmpdir(), "upsched-destinations-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const uploads = path.join(dir, "uploads");
  const file = (name: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, randomBytes(300_000));
    return f;
  };

  const slot = async (user: string) =>
    db.q(
      `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
       select $1, d, '00:00', '23:59:59', 10
       from unnest(array[to_char(now() at time zone 'UTC', 'FMday'), to_char((now() + interval '1 day') at time zone 'UTC', 'FMday')]) d`,
      [user],
    );
  const [{ id: acme }] = await db.q("insert into users (time_zone, destination, credentials) values ('UTC', 'builtin:tus', 'ACME') returning id");
  const [{ id: plain }] = await db.q("insert into users (time_zone) values ('UTC') returning id");
  await slot(acme);
  await slot(plain);
  const [{ id: toTus }] = await db.q("insert into videos (user_id, title, source_path) values ($1, 'to tus', $2) returning id", [acme, file("a.mp4")]);
  const [{ id: toDefault }] = await db.q("insert into videos (user_id, title, source_path) values ($1, 'ok', $2) returning id", [plain, file("b.mp4")]);
  const [{ id: toLocal }] = await db.q(
    "insert into videos (user_id, title, source_path, destination) values ($1, 'ok', $2, 'builtin:local') returning id", [plain, file("c.mp4")]);

  const log = mediaLog();
  const w = startWorker(t, db, {
    MEDIA_PROCESS_MODULE: SCRIPTED_MEDIA,
    MEDIA_LOG: log.file,
    UPLOAD_DIR: uploads,
    // ACME's endpoint and secret: read by the tus destination in place of TUS_ENDPOINT and TUS_HEADERS.
    TUS_ENDPOINT: "http://127.0.0.1:9/never-used/",
    TUS_ENDPOINT__ACME: tus.endpoint,
    TUS_HEADERS__ACME: '{"Authorization":"Bearer acme-secret"}',
  });
  await waitFor("the worker to start", async () => w.events("worker_started").length > 0);
  await waitFor("the three videos to be uploaded", async () => {
    const rows = await db.q("select status from videos");
    if (rows.every((r: any) => r.status === "success")) return true;
    await db.q("select graphile_worker.add_job('schedule_uploads')");
    await new Promise((r) => setTimeout(r, 300));
    return false;
  });

  const atTus = await tus.completedByVideo();
  t.same([...atTus.keys()], [toTus], "ACME's video went to its tus server, and only it");
  t.ok(tus.requests.every((r) => r.headers.authorization === "Bearer acme-secret"), "with ACME's credentials, from the environment");
  const [row] = await db.q("select remote_url from videos where id = $1", [toTus]);
  t.match(row.remote_url, tus.endpoint, "its remote URL is the tus upload");
  t.same(log.entries().filter((e) => e.event === "call").map((e) => e.id), [toDefault], "the other user's video went to MEDIA_PROCESS_MODULE");
  t.ok(existsSync(path.join(uploads, `${toLocal}.mp4`)), "the video naming builtin:local was copied into UPLOAD_DIR");
});
