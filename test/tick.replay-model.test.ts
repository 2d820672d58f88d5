// The tick reads only the users its index says are due. Proof that it claims exactly what a tick
// that looks at everyone would: ticks minute by minute over days around daylight saving changes,
// with random schedules, arrivals, failures, schedule edits, exceptions and pauses, compared
// claim by claim with an independent model in TypeScript over luxon (test/fixtures/replay.ts).
// tick.replay-limits does the same with the platforms' limits.
import t from "tap";
import { testDatabase } from "./fixtures/db.js";
import { replay } from "./fixtures/replay.js";

// Four replays of 2,880 ticks each: minutes of work on a busy machine.
t.setTimeout(480_000);

const windows: Array<[string, string, number, string[]]> = [
  ["clocks go forward in New York (8 March 2026)", "2026-03-07T12:00:00Z", 48, ["America/New_York", "Asia/Kolkata", "UTC"]],
  ["clocks go forward in Sydney and, by half an hour, on Lord Howe (4 October 2026)", "2026-10-02T18:00:00Z", 48, ["Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata"]],
  ["clocks go back in Berlin and London (25 October 2026)", "2026-10-24T12:00:00Z", 48, ["Europe/Berlin", "Europe/London", "America/New_York"]],
  ["clocks go back in New York (1 November 2026)", "2026-10-31T12:00:00Z", 48, ["America/New_York", "Asia/Kolkata", "Europe/Berlin"]],
];

for (const [name, from, hours, zones] of windows) {
  t.test(`due ticks claim exactly what the model claims: ${name}`, async (t) => {
    const db = await testDatabase(t);
    const seed = Number(process.env.REPLAY_SEED ?? 20261129) + windows.findIndex((w) => w[1] === from);
    await replay(t, db, seed, from, hours, zones);
  });
}
