// Every code the database raises has one kind, the same in the database (what a psql user reads)
// and in the TypeScript client (what the runner branches on): a scheduler bug is never "input",
// and an outcome is dropped only when its video is gone.
import t from "tap";
import { ERROR_CODES, SchedulerError } from "../src/errors.js";
import { testDatabase } from "./fixtures/db.js";

t.test("src/errors.ts and upload_scheduler.error_codes agree on every code and its kind", async (t) => {
  const db = await testDatabase(t);
  const rows = await db.q("select code, kind from upload_scheduler.error_codes order by code");
  t.same(Object.fromEntries(rows.map((r) => [r.code, r.kind])), ERROR_CODES);
});

t.test("kinds from codes, not from prefixes", async (t) => {
  const kind = (code: string) => SchedulerError.from({ message: "x", code }).kind;
  t.equal(kind("UPBUG"), "bug", "a bug of the scheduler");
  t.equal(kind("UPZZZ"), "bug", "a code of ours the table does not know is a bug, not input");
  t.equal(kind("UPSUP"), "conflict");
  t.equal(kind("UPOWN"), "tenant");
  t.equal(kind("40001"), "conflict", "a serialisation failure: retry");
  t.equal(kind("55P03"), "conflict", "a lock held too long: retry later");
  t.equal(kind("42501"), "tenant");
  t.equal(kind("23505"), "input");
  t.equal(kind("57P01"), "connection");
  t.equal(SchedulerError.from({ message: "x", code: "UPNVD" }).isVideoGone, true, "only UPNVD says the video is gone");
  t.equal(SchedulerError.from({ message: "x", code: "UPROW" }).isVideoGone, false);
});
