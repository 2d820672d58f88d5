// The schema reaches a database by `npm run db:migrate` alone (the committed migrations, then the
// files of sql/ that .gmrc lists, each applied again only when it changed), and stays self-documenting.
import t from "tap";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { listedSqlFiles } from "../src/db/apply.js";
import { databaseUrl, withAdmin } from "./fixtures/template.js";
import { testDatabase } from "./fixtures/db.js";

/** The .sql files under sql/, as paths relative to it. */
const sqlFiles = () => (readdirSync("sql", { recursive: true }) as string[]).filter((f) => f.endsWith(".sql")).sort();

t.test("every file of sql/ is applied: .gmrc's afterAllMigrations lists each once, and nothing else", async (t) => {
  // Wherever a file lives under sql/: the list is the applier's own reading of .gmrc.
  const onDisk = (readdirSync("sql", { recursive: true }) as string[]).filter((f) => f.endsWith(".sql")).map((f) => path.join("sql", f));
  const listed = listedSqlFiles().map((f) => f.file);
  t.ok(listed.length > 0, `${listed.length} files listed`);
  t.same([...listed].sort(), [...new Set(listed)].sort(), "no file listed twice");
  t.same([...listed].sort(), onDisk.sort(), "the afterAllMigrations list and the .sql files under sql/ agree");
  t.same(listed, [...listed].sort(), "in the order of their names (each file may use what the files before it define)");
});

t.test("npm run db:migrate on an empty database makes the SQL API, and running it again changes nothing", async (t) => {
  const name = `upsched_migrate_${randomBytes(5).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create database ${name}`));
  t.teardown(() => withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`)));
  const env = { ...process.env, DATABASE_URL: databaseUrl(name) };
  const first = execFileSync("npm", ["run", "--silent", "db:migrate"], { env, stdio: "pipe", encoding: "utf8" });
  t.match(first, new RegExp(`applied \\d+ committed migration\\(s\\).* and ${listedSqlFiles().length} file\\(s\\) of sql/`), first.trim());
  const second = execFileSync("npm", ["run", "--silent", "db:migrate"], { env, stdio: "pipe", encoding: "utf8" });
  t.match(second, /already up to date/, second.trim());
  const client = new pg.Client({ connectionString: databaseUrl(name) });
  await client.connect();
  t.teardown(() => client.end());
  const { rows } = await client.query(
    "select count(*)::int as n from pg_proc where pronamespace = 'upload_scheduler'::regnamespace and proname = 'claim_due_videos'");
  t.same(rows, [{ n: 1 }], "one claim_due_videos, not two");
  const { rows: [{ id }] } = await client.query("insert into users default values returning id");
  t.ok(id, "a user can be inserted with no columns given");
  const { rows: [video] } = await client.query("insert into videos (user_id) values ($1) returning status", [id]);
  t.equal(video.status, "initiate", "a video starts as initiate");
  const { rows: gw } = await client.query("select 1 from pg_namespace where nspname = 'graphile_worker'");
  t.same(gw, [], "db:migrate installs nothing but the scheduler (the worker installs its own schema)");
  const { rows: recorded } = await client.query("select file from upload_scheduler_deploy.applied_sql_files order by position");
  t.same(recorded.map((r) => r.file), listedSqlFiles().map((f) => f.file), "each file's hash is recorded, in .gmrc's order");
  const { rowCount } = await client.query("delete from upload_scheduler_deploy.applied_sql_files");
  t.equal(rowCount, listedSqlFiles().length, "with the record emptied …");
  t.match(execFileSync("npm", ["run", "--silent", "db:migrate"], { env, stdio: "pipe", encoding: "utf8" }), /applied 0 committed migration\(s\) and \d+ file\(s\) of sql\/ \(from sql\//,
    "… db:migrate applies every file again");
});

t.test("every function is documented, pins its search_path, and has the contract's signature", async (t) => {
  const db = await testDatabase(t);
  const functions = await db.q(`
    select p.proname, pg_get_function_identity_arguments(p.oid) as args,
           obj_description(p.oid, 'pg_proc') as comment, p.proconfig
    from pg_proc p where p.pronamespace in ('upload_scheduler'::regnamespace, 'upload_scheduler_private'::regnamespace)`);
  for (const f of functions) {
    t.ok(f.comment, `${f.proname} has a COMMENT`);
    // pg_temp last: a session's temporary tables and views can never stand in for the catalog's
    // or the scheduler's (by default pg_temp is searched first for relations).
    t.ok((f.proconfig ?? []).includes("search_path=pg_catalog, pg_temp"), `${f.proname} pins search_path to pg_catalog, pg_temp`);
    // No planner setting on a function: it would carry down into every function and trigger the
    // function calls, whose plans would then depend on who called them.
    // (Three exceptions, each naming in its comment the test that fails without it: day_facts and
    // limit_usage, which call nothing that plans, and claimable, which only reads and calls
    // nothing that writes, so its setting reaches no trigger.)
    if (!["day_facts", "limit_usage", "claimable"].includes(f.proname)) {
      t.same((f.proconfig ?? []).filter((c: string) => /^(enable_|plan_cache_mode)/.test(c)), [], `${f.proname} sets no planner setting`);
    }
  }
  // JIT only where a statement can be costed high enough to be compiled: the tick over thousands
  // of users, where compiling took longer than the work.
  t.same(functions.filter((f) => (f.proconfig ?? []).includes("jit=off")).map((f) => f.proname).sort(), ["claim_due_videos", "run_tick"],
    "JIT is off on the tick's two entry points alone");
  const contract: Record<string, string> = {
    current_time_info: "p_time_zone text, p_now timestamp with time zone",
    active_slots_for_day: "p_user_id uuid, p_day text",
    is_within_time_slot: "p_slot_id uuid, p_now timestamp with time zone",
    upload_count_for_slot: "p_slot_id uuid, p_now timestamp with time zone",
    find_active_slot: "p_user_id uuid, p_now timestamp with time zone",
    find_next_video_to_upload: "p_user_id uuid, p_now timestamp with time zone",
    claim_due_videos: "p_now timestamp with time zone, p_limit integer",
    reset_stale_pending_videos: "p_older_than interval, p_now timestamp with time zone",
    start_upload: "p_video_id uuid, p_now timestamp with time zone",
    finish_upload: "p_video_id uuid, p_succeeded boolean, p_error text, p_now timestamp with time zone",
    set_schedule: "p_user_id uuid, p_slots jsonb",
    get_schedule: "p_user_id uuid",
    pause_uploads: "p_user_id uuid, p_until timestamp with time zone, p_reason text, p_now timestamp with time zone",
    resume_uploads: "p_user_id uuid",
    upcoming_uploads: "p_user_id uuid, p_horizon interval, p_now timestamp with time zone",
    upcoming_windows: "p_user_id uuid, p_horizon interval, p_now timestamp with time zone",
  };
  // Overloads added since the contract, beside its signature (which stays as written).
  const added: Record<string, string[]> = { get_schedule: ["p_user_id uuid, p_with_limits boolean"] };
  for (const [name, args] of Object.entries(contract)) {
    t.same(functions.filter((f) => f.proname === name).map((f) => f.args).sort(), [args, ...(added[name] ?? [])].sort(), `${name}(${args})`);
  }
});

t.test("every custom SQLSTATE raised in sql/ has a kind in upload_scheduler.error_codes and is listed in docs/error_codes.md", async (t) => {
  const doc = readFileSync("docs/error_codes.md", "utf8");
  const codes = new Set<string>();
  for (const file of sqlFiles()) {
    const text = readFileSync(`sql/${file}`, "utf8");
    for (const m of text.matchAll(/errcode = '(UP\w{3})'/g)) codes.add(m[1]!);
    // The rules' codes, in rule_messages (name, errcode, …).
    for (const m of text.matchAll(/\('[a-z_]+', '(UP[A-Z]{3})',/g)) codes.add(m[1]!);
  }
  t.ok(codes.size >= 15, `found ${codes.size} codes`);
  const db = await testDatabase(t);
  const known = new Map((await db.q("select code, kind from upload_scheduler.error_codes")).map((r) => [r.code, r.kind]));
  for (const code of codes) t.ok(known.has(code), `${code} has a kind (${known.get(code)})`);
  for (const code of known.keys()) t.match(doc, `\`${code}\``, `${code} is documented`);
  const rules = await db.q("select name from upload_scheduler.rule_messages");
  const constraints = await db.q(`select conname from pg_constraint c join pg_class r on r.oid = c.conrelid
                                  where c.contype = 'c' and pg_get_constraintdef(c.oid) like '%refuse(%'`);
  const names = new Set(rules.map((r) => r.name));
  for (const { conname } of constraints) t.ok(names.has(conname), `constraint ${conname} has its message`);
});
