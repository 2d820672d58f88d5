// The tick replayed minute by minute against the independent model (test/fixtures/replay.ts), with
// the platforms' limits on most users: rolling windows, and calendar days in a zone whose day is 23
// or 25 hours long in the window. The model counts each user's claims by the instant they were
// made; the database, by its ledger of places.
import t from "tap";
import { testDatabase } from "./fixtures/db.js";
import { replay } from "./fixtures/replay.js";

// Two replays of about 2,000 ticks each: minutes of work on a busy machine.
t.setTimeout(480_000);

// The same replay with the platforms' limits on most users, over the days whose clocks change in
// New York and Los Angeles (a calendar day of 23 hours, then one of 25).
// (From midnight UTC on the day of the change to past Los Angeles's next midnight, 07:00 or 08:00
// UTC the day after.)
const limitWindows: Array<[string, string, number, string[]]> = [
  ["clocks go forward in New York and Los Angeles (8 March 2026)", "2026-03-08T00:00:00Z", 32, ["America/New_York", "America/Los_Angeles", "Asia/Kolkata"]],
  ["clocks go back in New York and Los Angeles (1 November 2026)", "2026-11-01T00:00:00Z", 33, ["America/Los_Angeles", "America/New_York", "Europe/Berlin"]],
];
for (const [name, from, hours, zones] of limitWindows) {
  t.test(`with rolling and calendar limits, due ticks claim exactly what the model claims: ${name}`, async (t) => {
    const db = await testDatabase(t);
    const seed = Number(process.env.REPLAY_SEED ?? 20261129) + 10 + limitWindows.findIndex((w) => w[1] === from);
    await replay(t, db, seed, from, hours, zones, true);
    const [{ n }] = await db.q("select count(*)::int as n from upload_limits");
    t.ok(n >= 6, `${n} limits in play at the end`);
  });
}
