// The tick reads only the users its index says are due. Proof that it claims exactly what a tick
// that looks at everyone would: ticks minute by minute over days around daylight saving changes,
// with random schedules, arrivals, failures, schedule edits, exceptions and pauses, compared
// claim by claim with an independent model in TypeScript over luxon (test/fixtures/replay.ts).
// This file replays the days clocks go back, tick.replay-model the days they go forward,
// tick.replay-limits both with the platforms' limits. (36 hours each, from noon UTC the day before.)
import t from "tap";
import { testDatabase } from "./fixtures/db.js";
import { replay } from "./fixtures/replay.js";

// Two replays of 2,160 ticks each: a minute or two of work on a busy machine.
t.setTimeout(480_000);

const windows: Array<[string, string, number, string[], number]> = [
  ["clocks go back in Berlin and London (25 October 2026)", "2026-10-24T12:00:00Z", 36, ["Europe/Berlin", "Europe/London", "America/New_York"], 2],
  ["clocks go back in New York (1 November 2026)", "2026-10-31T12:00:00Z", 36, ["America/New_York", "Asia/Kolkata", "Europe/Berlin"], 3],
];

for (const [name, from, hours, zones, n] of windows) {
  t.test(`due ticks claim exactly what the model claims: ${name}`, async (t) => {
    const db = await testDatabase(t);
    await replay(t, db, Number(process.env.REPLAY_SEED ?? 20261129) + n, from, hours, zones);
  });
}
