// The README, tried as a new user would: every SQL block of its walkthrough ("Try it"), then of
// docs/everyday-tasks.md and of "Seeing it run" in docs/operating.md, in order, through psql,
// against a running worker (the real `npm start` process).
import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { PROJECT_ROOT } from "../src/db/migrate.js";
import { testDatabase } from "./fixtures/db.js";
import { freePort, startWorker, waitFor } from "./fixtures/worker.js";

/** The ```sql blocks of a section (a "## " heading, to the next) of a Markdown file, in order. */
function sqlBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const end = readme.indexOf("\n## ", start + 4);
  return [...readme.slice(start, end < 0 ? undefined : end).matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

t.test("the README's psql walkthrough and everyday recipes run as written", async (t) => {
  const db = await testDatabase(t);
  const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), "utf8");
  const walkthrough = sqlBlocks(read("README.md"), "Try it: a walkthrough in psql");
  const everyday = [...sqlBlocks(read("docs/everyday-tasks.md"), "Everyday tasks in psql"), ...sqlBlocks(read("docs/operating.md"), "Seeing it run")];
  t.ok(walkthrough.length >= 7 && everyday.length >= 12, `${walkthrough.length} + ${everyday.length} blocks`);

  // The walkthrough's two small "videos", where it makes them.
  for (const [file, bytes] of [["/tmp/trailer.mp4", 2_000_000], ["/tmp/teaser.mp4", 3_000_000]] as const) {
    writeFileSync(file, randomBytes(bytes));
  }
  const uploads = mkdtempSync(path.join(tmpdir(), "upsched-readme-"));
  const worker = startWorker(t, db, { UPLOAD_DIR: uploads, HTTP_PORT: String(await freePort()) });
  // After the worker's own teardown: the walkthrough's files and what it uploaded.
  t.teardown(() => {
    for (const file of ["/tmp/trailer.mp4", "/tmp/teaser.mp4"]) rmSync(file, { force: true });
    rmSync(uploads, { recursive: true, force: true });
  });
  await waitFor("the worker to start", async () => worker.events("worker_started").length > 0);
  // (Printed beside the start's log line, not necessarily before it reaches us.)
  const dashboard = await waitFor("the dashboard's URL", async () => worker.output().match(/^Dashboard, health and metrics: (\S+)$/m)?.[1]);
  t.ok(dashboard, "the dashboard's URL is printed");

  const psql = (sql: string) => execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", db.url], { input: sql, encoding: "utf8" });
  const status = () => db.q("select title, status from videos order by created_at").then((rows) => Object.fromEntries(rows.map((r) => [r.title, r.status])));
  const until = (what: string, want: Record<string, string>) =>
    waitFor(what, async () => JSON.stringify(await status()) === JSON.stringify(want), 30_000).catch((e) => {
      t.comment(worker.output());
      throw e;
    });

  for (const [i, block] of walkthrough.entries()) {
    t.doesNotThrow(() => psql(block), `walkthrough block ${i + 1} runs`);
    if (i === 2) {
      // Before the first tick: the dashboard shows the walkthrough's user, its slot and the queue.
      const page = await (await fetch(dashboard!)).text();
      t.ok(page.includes("00000000-0000-0000-0000-00000000c0de"), "the dashboard shows the walkthrough's user");
      t.match(page, /class="slot[^"]*"[^>]*>[\s\S]*?all day/, "its slot in the week");
      t.match(page, /trailer[\s\S]*teaser[\s\S]*outtake/, "and the queue, in order");
    }
    if (i === 3) await until("trailer and teaser uploaded", { trailer: "success", teaser: "success", outtake: "initiate" });
    if (i === 5) await until("outtake failed", { trailer: "success", teaser: "success", outtake: "failed" });
    if (i === 6) await until("outtake uploaded", { trailer: "success", teaser: "success", outtake: "success" });
  }
  const [outtake] = await db.q("select attempts, last_error from videos where title = 'outtake'");
  t.equal(outtake.attempts, 2);
  t.equal(outtake.last_error, null, "a success clears the error of the failed attempt");
  t.equal(execFileSync("ls", [uploads], { encoding: "utf8" }).trim().split("\n").length, 3, "three copies in UPLOAD_DIR");

  for (const [i, block] of everyday.entries()) {
    t.doesNotThrow(() => psql(block), `everyday block ${i + 1} runs: ${block.split("\n")[0]}`);
  }
  worker.child.kill("SIGTERM");
  t.equal(await worker.exited, 0);
});
