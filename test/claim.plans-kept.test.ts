// A single claim plans its statements once per session, not at every call.
//
// Every statement of find_next_video_to_upload works on one user. PostgreSQL keeps a statement's
// plan after five calls only when that plan does not look dearer than one made for the call's
// own values; for the rule's statements over unnest(<a list of one>) it always does (a kept plan
// must assume a list of unknown length), so they were planned again at every call: about half
// of a claim's time on the benchmark's data. find_next_video_to_upload therefore sets
// plan_cache_mode = force_generic_plan for its call (and what it calls: all of it is one user's).
// This test counts the plannings of a claim after a few (log_planner_stats, read as notices),
// and fails without that setting. It counts plannings, not time.
//
// A kept plan must still be one user's plan: index probes for that user, never a read of a whole
// table (a join of the users to unnest(p_user_ids), kept, hashed all of public.users at every
// claim: a single claim then grew with the number of users). The second test reads the kept
// plans (auto_explain) and fails on any that reads one of the scheduler's tables whole.
import type pg from "pg";
import t from "tap";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { explainPlans, planNodes, statementHead } from "./fixtures/plans.js";
import { mondayUsers } from "./fixtures/scenario.js";

const MONDAY_10 = kolkata("2026-11-30 10:00");

/** A single claim for a user on this connection; resolves to the number of videos claimed. */
const claimOn = (client: pg.ClientBase) => async (user: string) =>
  (await client.query("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [user, MONDAY_10])).rows.length;

t.test("a single claim plans its statements on the session's first calls, then keeps its plans", async (t) => {
  const db = await testDatabase(t);
  // A platform limit on every user, so the limits' statements run too.
  const users = await mondayUsers(db, { users: 12, maxUploads: 5, videos: 3, limit: 50 });

  const client = await db.connect();
  let plannings = 0;
  client.on("notice", (notice) => {
    if (notice.message === "PLANNER STATISTICS") plannings++;
  });
  const claim = claimOn(client);
  // The session's first claims (each plpgsql statement is planned at its first call).
  let claimed = 0;
  for (const id of users.slice(0, 8)) claimed += await claim(id);
  await client.query("set client_min_messages = log");
  await client.query("set log_planner_stats = on");
  // The next claims, each for another user: only the top-level statement is planned.
  const perClaim: number[] = [];
  for (const id of users.slice(8)) {
    plannings = 0;
    claimed += await claim(id);
    perClaim.push(plannings);
  }
  await client.query("reset log_planner_stats");
  await client.query("reset client_min_messages");

  t.equal(claimed, 12, "every claim claimed a video");
  t.same(perClaim, [1, 1, 1, 1], "each later claim planned only its own SELECT: every statement inside kept its plan");
});

t.test("a single claim's kept plans probe indexes for its one user: no table of the scheduler is read whole", async (t) => {
  const db = await testDatabase(t);
  // Enough users that reading all of them costs more than probing one (the planner knows it: analyzed).
  const users = await mondayUsers(db, { users: 2000, maxUploads: 5, videos: 3, limit: 50 });
  await db.q("analyze users, upload_schedules, upload_limits, videos");

  const client = await db.connect();
  const claim = claimOn(client);
  // Past the five custom plans: what runs now is what the session keeps.
  let claimed = 0;
  for (const id of users.slice(0, 8)) claimed += await claim(id);
  const explained = await explainPlans(client);
  for (const id of users.slice(8, 12)) claimed += await claim(id);
  await explained.off();
  const { plans } = explained;

  t.equal(claimed, 12, "every claim claimed a video");
  t.ok(plans.length >= 4 * 5, `the claims' statements were read (${plans.length} plans)`);
  const tables = new Set(["users", "upload_schedules", "upload_schedule_exceptions", "upload_limits", "videos", "places", "user_due"]);
  const whole = plans.flatMap((p) =>
    planNodes(p.Plan)
      .filter((n) => n["Node Type"] === "Seq Scan" && tables.has(n["Relation Name"] ?? ""))
      .map((n) => `${n["Relation Name"]} read whole in: ${statementHead(p)}`),
  );
  t.same([...new Set(whole)], [], "no plan of a single claim reads a whole table");
});
