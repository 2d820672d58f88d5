// The README's "From Node" example runs as written, against the built package.
import t from "tap";
import { execFileSync } from "node:child_process";
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
