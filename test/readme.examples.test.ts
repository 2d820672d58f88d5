// The examples of docs/from-node.md run as written, against the built package: "From Node", and "Inside
// your own Graphile Worker" (whose upload thread then runs the built JavaScript, not a bundle).
import t from "tap";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { testDatabase } from "./fixtures/db.js";

t.test("examples/from-node.mjs prints the creator's Monday", async (t) => {
  const db = await testDatabase(t);
  const output = execFileSync(process.execPath, ["examples/from-node.mjs"], {
    env: { ...process.env, DATABASE_URL: db.url },
    encoding: "utf8",
  });
  t.equal(output, [
    "monday 09:30:00 in Asia/Kolkata",
    "  morning: 09:00:00-11:59:59, 1 upload(s)",
    "  afternoon: 12:00:00-17:59:59, 1 upload(s)",
    "open now: morning",
    'claimed "launch trailer" at 09:30 GMT+5:30; morning slot used 1/1',
    "",
  ].join("\n"));
});

t.test("examples/own-graphile-worker.mjs runs the app's task and the scheduler's upload on one runner", async (t) => {
  const db = await testDatabase(t);
  const uploads = t.testdir({});
  const output = execFileSync(process.execPath, ["examples/own-graphile-worker.mjs"], {
    env: { ...process.env, DATABASE_URL: db.url, UPLOAD_DIR: uploads, DATA_DIR: t.testdir({}) },
    encoding: "utf8",
  });
  t.match(output, /^welcome email to creator@example\.com$/m);
  t.match(output, /^"launch trailer": success$/m);
  t.equal(readdirSync(uploads).filter((f) => f.endsWith(".mjs")).length, 1, "its copy is in UPLOAD_DIR");
});
