// A tick's statements stay linear in the rows they touch, whatever the connection ran before.
//
// A worker's pooled connection makes one-row writes (a claim, start_upload, finish_upload) and
// then, a minute later, a tick that claims thousands. PostgreSQL keeps plans for the session: a
// plan over a trigger's transition tables made for one row can nested-loop over them, and a plan
// kept after five runs can compare each row with a whole list (`user_id = ANY ($n)`) or rescan a
// list per row. Any of these is quadratic: at 50,000 claims, minutes instead of seconds. The
// functions join unnest(...) to indexed tables and set no planner setting; this test reads every
// plan the statements ran with (auto_explain, JSON) after such one-row writes, then several bulk
// rounds (more than the five custom plans PostgreSQL makes before keeping one), and fails on any
// plan that rescans a transition table, a list or a CTE once per outer row, or filters by a list
// parameter row by row. It reads plans, not times.
import t from "tap";
import { kolkata, testDatabase } from "./fixtures/db.js";
import { mondayUsers } from "./fixtures/scenario.js";
import { explainPlans, findNode, statementHead, type PlanNode } from "./fixtures/plans.js";

const USERS = 200;
const MONDAY_10 = kolkata("2026-11-30 10:00");

/** The scheduler's tables, which a plan must never read whole once per row of another. */
const TABLES = new Set(["places", "upload_schedule_exceptions", "upload_schedules", "videos", "users", "user_due", "upload_attempts"]);

/** What in this plan makes it quadratic, if anything. */
function quadratic(node: PlanNode, found: string[] = []): string[] {
  const contains = (n: PlanNode, test: (n: PlanNode) => boolean) => findNode(n, test) !== undefined;
  if (node["Node Type"] === "Nested Loop") {
    const inner = (node.Plans ?? []).find((c) => c["Parent Relationship"] === "Inner");
    if (inner && contains(inner, (n) => n["Node Type"] === "Named Tuplestore Scan")) found.push("a transition table rescanned per outer row");
    // (zones holds one row per time zone of the users at hand: a handful, whatever their number)
    if (inner && contains(inner, (n) => n["Node Type"] === "CTE Scan" && n["CTE Name"] !== "zones")) found.push("a CTE rescanned per outer row");
    if (inner && contains(inner, (n) => n["Node Type"] === "Function Scan" && n["Function Name"] === "unnest")) found.push("a list rescanned per outer row");
    // A table read whole once per outer row: what a plan made when the table looked empty does.
    const whole = inner && findNode(inner, (n) => n["Node Type"] === "Seq Scan" && TABLES.has(n["Relation Name"] ?? ""));
    if (whole) found.push(`${whole["Relation Name"]} read whole per outer row`);
  }
  for (const filter of [node.Filter, node["Join Filter"]]) {
    if (filter && /= ANY \(\$\d+\)/.test(filter)) found.push(`a row-by-row test against a whole list: ${filter}`);
  }
  for (const child of node.Plans ?? []) quadratic(child, found);
  return found;
}

t.test("after one-row writes on the same connection, bulk claims, give-backs, starts, ends and sweeps keep linear plans", async (t) => {
  const db = await testDatabase(t);
  await mondayUsers(db, { users: USERS, maxUploads: 3, videos: 3 });
  const [first, second] = await db.q("select id from users order by id limit 2");

  const client = await db.connect();
  const { plans } = await explainPlans(client);
  const run = (sql: string, values: unknown[] = []) => client.query(sql, values);
  const minute = (m: number) => new Date(Date.parse("2026-11-30T04:30:00Z") + m * 60_000).toISOString();

  // One-row writes first, as a worker's connection makes them: a claim, a start, an end, a claim given back.
  const [{ id: video }] = (await run("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [first.id, MONDAY_10])).rows;
  await run("select upload_scheduler.start_upload($1, $2)", [video, MONDAY_10]);
  await run("select upload_scheduler.finish_upload($1, true, null, $2)", [video, MONDAY_10]);
  await run("select id from upload_scheduler.find_next_video_to_upload($1, $2)", [second.id, MONDAY_10]);
  await run("select upload_scheduler.reset_stale_pending_videos('1 minute', $1)", [minute(0)]);
  const [{ id: gone }] = (await run("insert into videos (user_id) values ($1) returning id", [second.id])).rows;
  await run("delete from videos where id = $1", [gone]);
  const oneRowPlans = plans.length;
  // The ledger and the exceptions, analysed while small, as in a young deployment: plans made now
  // believe them (nearly) empty.
  await run("vacuum analyze upload_scheduler.places, upload_schedule_exceptions");

  // Then bulk rounds on the same connection: seven claims of every user and seven give-backs.
  let claimed = 0;
  for (let round = 1; round <= 7; round++) {
    claimed += (await run("select * from upload_scheduler.claim_due_videos($1)", [minute(round * 2)])).rowCount ?? 0;
    await run("select upload_scheduler.reset_stale_pending_videos('1 minute', $1)", [minute(round * 2 + 1.5)]);
  }
  // A stale sweep, hundreds of starts and ends, bulk arrivals and deletions, and a tick through run_tick.
  await run("select * from upload_scheduler.claim_due_videos($1)", [minute(20)]);
  const stale = (await run("select upload_scheduler.reset_stale_pending_videos('30 minutes', $1) as n", [minute(51)])).rows[0].n;
  await run("select * from upload_scheduler.claim_due_videos($1)", [minute(52)]);
  await run("select upload_scheduler.start_upload(id, $1) from videos where status = 'pending'", [minute(53)]);
  await run("select upload_scheduler.finish_upload(id, true, null, $1) from videos where status = 'uploading'", [minute(54)]);
  await run("insert into videos (user_id, title) select id, 'late arrival' from users");
  await run("delete from videos where title = 'late arrival'");
  await run("select * from upload_scheduler.run_tick(p_now => $1)", [minute(55)]);

  t.ok(claimed >= 7 * USERS, `the bulk rounds claimed for every user each time (${claimed})`);
  t.ok(stale >= USERS, `the sweep reset hundreds (${stale})`);
  const [{ n: uploaded }] = await db.q("select count(*)::int as n from upload_attempts where outcome = 'success'");
  t.ok(uploaded > USERS, `hundreds of attempts opened and closed (${uploaded})`);
  t.ok(oneRowPlans > 10, `one-row statements were planned first (${oneRowPlans} plans)`);
  const overTransitionTables = plans.filter((p) => JSON.stringify(p.Plan).includes("Named Tuplestore Scan"));
  t.ok(overTransitionTables.length > 2, `the triggers' statements were read (${overTransitionTables.length} plans over transition tables)`);

  const bad = plans.flatMap((p) => quadratic(p.Plan).map((why) => `${why}\n  in: ${statementHead(p, 3)}`));
  t.same([...new Set(bad)], [], "no plan does per-row work over a whole list, table or CTE");

  // The due bookkeeping writes each claimed user's due_at from its earliest waiting video: one
  // index probe, not an aggregate over the user's whole queue (a tick then grew with the queues'
  // length: ten times the videos, 1.6 times the tick).
  const due = plans.filter((p) => /update upload_scheduler\.user_due d\s+set due_at = greatest/.test(p["Query Text"]));
  t.ok(due.length > 0, `the due bookkeeping's statement was read (${due.length} plans)`);
  const overQueues = due.filter((p) => findNode(p.Plan, (n) => n["Node Type"] === "Aggregate" && !!findNode(n, (c) => c["Relation Name"] === "videos" && c["Node Type"] !== "Index Only Scan")));
  t.same(overQueues.map((p) => statementHead(p, 3)), [], "no due bookkeeping plan aggregates over a user's whole queue");
});
