-- Who may do what. Applied last, whenever any file of sql/ was applied (a new function is
-- executable by PUBLIC until this file revokes it).
--
-- upload_scheduler_worker: what the runner needs and nothing else. It reads the tables and
--   calls the tick, start and finish functions (SECURITY DEFINER: they write what it cannot);
--   it cannot write a table itself.
-- upload_scheduler_app: an application acting for one user at a time, after
--   `set upload_scheduler.user_id = '…'`. Row-level security shows and lets it change only that
--   user's rows, its writes go through every trigger, and the functions it may call act only
--   for that user.
-- Both are group roles (NOLOGIN): grant them to login roles, e.g.
--   create role uploader login password '…' in role upload_scheduler_worker;
-- The roles are created here when the migrating role may create roles; otherwise a superuser
-- runs scripts/create-roles.sql once, and the next `npm run db:migrate` grants them.

do $$
begin
  if to_regrole('upload_scheduler_worker') is null or to_regrole('upload_scheduler_app') is null then
    if (select r.rolsuper or r.rolcreaterole from pg_roles r where r.rolname = current_user) then
      if to_regrole('upload_scheduler_worker') is null then
        create role upload_scheduler_worker nologin;
        comment on role upload_scheduler_worker is 'The upload scheduler''s runner: ticks, starts and finishes uploads; reads everything, writes nothing directly.';
      end if;
      if to_regrole('upload_scheduler_app') is null then
        create role upload_scheduler_app nologin;
        comment on role upload_scheduler_app is 'An application acting for one user of the upload scheduler at a time (set upload_scheduler.user_id).';
      end if;
    else
      raise notice 'Roles upload_scheduler_worker and upload_scheduler_app do not exist and % may not create them; run scripts/create-roles.sql as a superuser, then npm run db:migrate again.', current_user;
    end if;
  end if;
end;
$$;

-- A policy, made to match: dropped and created again only when pg_policy differs from it. Creating
-- or dropping a policy locks its table ACCESS EXCLUSIVE, which waits for every running statement
-- on the table and makes every later one wait: on Graphile Worker's tables, against a running
-- worker's job inserts, that was a deadlock at start. p_using and p_check are written as
-- pg_get_expr() prints them, so that an unchanged policy compares equal.
create or replace function upload_scheduler_private.ensure_policy(
  p_table regclass, p_name name, p_command text, p_role name, p_using text, p_check text)
returns boolean
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  if exists (
    select from pg_policy p
    where p.polrelid = p_table and p.polname = p_name and p.polpermissive
      and p.polcmd = case upper(p_command) when 'ALL' then '*' when 'SELECT' then 'r' when 'INSERT' then 'a' when 'UPDATE' then 'w' when 'DELETE' then 'd' end
      and p.polroles = array[p_role::regrole::oid]
      and pg_get_expr(p.polqual, p.polrelid) is not distinct from p_using
      and pg_get_expr(p.polwithcheck, p.polrelid) is not distinct from p_check
  ) then
    return false;
  end if;
  execute format('drop policy if exists %I on %s', p_name, p_table);
  execute format('create policy %I on %s as permissive for %s to %I', p_name, p_table, p_command, p_role)
    || coalesce(' using (' || p_using || ')', '') || coalesce(' with check (' || p_check || ')', '');
  return true;
end;
$$;

comment on function upload_scheduler_private.ensure_policy(regclass, name, text, name, text, text) is
  E'Internal: makes a policy on a table what it should be, dropping and creating it only when pg_policy differs (true when it did).';

-- Graphile Worker's schema, for the worker role (installed by the runner, so this may run
-- before it exists: npm start calls it again once the queue's schema is in place). npm start
-- calls it at every start: it compares with the catalog and grants, or makes a policy, only
-- where something is missing, so a start with nothing to change locks none of the queue's tables.
create or replace function upload_scheduler_private.grant_queue_to_worker()
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_worker oid := to_regrole('upload_scheduler_worker');
  v_object text;
begin
  if v_worker is null or to_regnamespace('graphile_worker') is null then
    return;
  end if;
  -- What GRANT … ON ALL TABLES / SEQUENCES / FUNCTIONS IN SCHEMA would grant, object by object,
  -- where the worker lacks a privilege of its own (aclexplode of a null ACL is no row).
  if not exists (select from pg_namespace n, aclexplode(n.nspacl) a
                 where n.nspname = 'graphile_worker' and a.grantee = v_worker and a.privilege_type = 'USAGE') then
    grant usage on schema graphile_worker to upload_scheduler_worker;
  end if;
  for v_object in
    select c.oid::regclass::text from pg_class c
    where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and (select count(distinct a.privilege_type) from aclexplode(c.relacl) a
           where a.grantee = v_worker and a.privilege_type in ('SELECT', 'INSERT', 'UPDATE', 'DELETE')) < 4
  loop
    execute format('grant select, insert, update, delete on %s to upload_scheduler_worker', v_object);
  end loop;
  for v_object in
    select c.oid::regclass::text from pg_class c
    where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'S'
      and (select count(distinct a.privilege_type) from aclexplode(c.relacl) a
           where a.grantee = v_worker and a.privilege_type in ('USAGE', 'SELECT', 'UPDATE')) < 3
  loop
    execute format('grant usage, select, update on sequence %s to upload_scheduler_worker', v_object);
  end loop;
  for v_object in
    select p.oid::regprocedure::text from pg_proc p
    where p.pronamespace = 'graphile_worker'::regnamespace and p.prokind in ('f', 'a', 'w')
      and not exists (select from aclexplode(p.proacl) a where a.grantee = v_worker and a.privilege_type = 'EXECUTE')
  loop
    execute format('grant execute on routine %s to upload_scheduler_worker', v_object);
  end loop;
  -- Graphile Worker keeps row-level security on its private tables (no role but the owner sees
  -- a job); the worker role runs the jobs, so it sees them all.
  for v_object in
    select c.oid::regclass::text from pg_class c
    where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity
  loop
    perform upload_scheduler_private.ensure_policy(v_object::regclass, 'upload_scheduler_worker_runs_jobs', 'all', 'upload_scheduler_worker', 'true', 'true');
  end loop;
end;
$$;

comment on function upload_scheduler_private.grant_queue_to_worker() is
  E'Internal: grants upload_scheduler_worker what Graphile Worker''s runner needs in schema graphile_worker (when both exist).';

-- A role's (or PUBLIC's) privileges on an object, made to match: what p_grant lists and the
-- object's ACL lacks is granted, what p_revoke lists and the ACL holds is revoked, and nothing is
-- done when the catalog already says so. (A GRANT takes no lock on its table, but rewrites the
-- object's catalog row each time, and every session then drops its plans that use the object.)
-- Returns how many privileges it changed.
create or replace function upload_scheduler_private.ensure_privileges(
  p_kind text, p_object text, p_role text, p_grant text[], p_revoke text[] default '{}')
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_grantee oid := case when p_role = 'public' then 0 else p_role::regrole::oid end;
  v_to text := case when p_role = 'public' then 'public' else quote_ident(p_role) end;
  v_name text;
  v_acl aclitem[];
  v_missing text[];
  v_present text[];
begin
  case p_kind
    when 'schema' then
      select n.nspacl, quote_ident(n.nspname) into strict v_acl, v_name from pg_namespace n where n.nspname = p_object;
    when 'table', 'sequence' then
      select c.relacl, c.oid::regclass::text into strict v_acl, v_name from pg_class c where c.oid = p_object::regclass;
    when 'routine' then
      -- A routine's null ACL is the default one, which lets PUBLIC execute it.
      select coalesce(p.proacl, acldefault('f', p.proowner)), p.oid::regprocedure::text into strict v_acl, v_name
      from pg_proc p where p.oid = p_object::regprocedure;
  end case;
  select coalesce(array_agg(w), '{}') into v_missing from unnest(p_grant) w
  where not exists (select from aclexplode(v_acl) a where a.grantee = v_grantee and a.privilege_type = w);
  select coalesce(array_agg(w), '{}') into v_present from unnest(p_revoke) w
  where exists (select from aclexplode(v_acl) a where a.grantee = v_grantee and a.privilege_type = w);
  if cardinality(v_missing) > 0 then
    execute format('grant %s on %s %s to %s', array_to_string(v_missing, ', '), p_kind, v_name, v_to);
  end if;
  if cardinality(v_present) > 0 then
    execute format('revoke %s on %s %s from %s', array_to_string(v_present, ', '), p_kind, v_name, v_to);
  end if;
  return cardinality(v_missing) + cardinality(v_present);
end;
$$;

comment on function upload_scheduler_private.ensure_privileges(text, text, text, text[], text[]) is
  E'Internal: grants a role (or public) the privileges on an object it lacks and revokes the unwanted ones it holds, changing nothing that is already so; returns how many it changed.';

-- Which columns of a table a role holds one privilege on, made to match exactly, likewise.
create or replace function upload_scheduler_private.ensure_column_privileges(
  p_table regclass, p_role text, p_privilege text, p_columns name[])
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_grantee oid := p_role::regrole::oid;
  v_grant text;
  v_revoke text;
  v_changes integer;
begin
  if exists (select from unnest(p_columns) c where not exists (
               select from pg_attribute a where a.attrelid = p_table and a.attname = c and a.attnum > 0 and not a.attisdropped)) then
    raise exception 'A column of % named for % is missing: %.', p_table, p_privilege, p_columns
      using errcode = 'UPARG', hint = 'Name only columns the table has.';
  end if;
  select string_agg(quote_ident(a.attname), ', ' order by a.attnum) filter (where a.attname = any(p_columns) and not a.has),
         string_agg(quote_ident(a.attname), ', ' order by a.attnum) filter (where a.attname <> all(p_columns) and a.has),
         count(*) filter (where (a.attname = any(p_columns)) <> a.has)
  into v_grant, v_revoke, v_changes
  from (select a.attname, a.attnum,
               exists (select from aclexplode(a.attacl) x where x.grantee = v_grantee and x.privilege_type = p_privilege) as has
        from pg_attribute a where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped) a;
  if v_grant is not null then
    execute format('grant %s (%s) on table %s to %I', p_privilege, v_grant, p_table, p_role);
  end if;
  if v_revoke is not null then
    execute format('revoke %s (%s) on table %s from %I', p_privilege, v_revoke, p_table, p_role);
  end if;
  return v_changes;
end;
$$;

comment on function upload_scheduler_private.ensure_column_privileges(regclass, text, text, name[]) is
  E'Internal: makes a role hold a privilege on exactly the named columns of a table, granting and revoking only what differs; returns how many columns changed.';

-- Who may do what, as grants that change only what differs: this file runs it, and so does every
-- start and `npm run db:migrate` (a role created since, by scripts/create-roles.sql, gets its
-- grants then; a start with everything in place changes nothing).
create or replace function upload_scheduler_private.grant_roles()
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_changes integer := 0;
  v_role text;
  v_object text;
begin
  -- No function of the scheduler is executable by PUBLIC. (PostgreSQL grants EXECUTE to PUBLIC
  -- on every new function, and that default cannot be revoked per schema: so this runs after
  -- every function exists.) The roles get usage of upload_scheduler_private for one function
  -- only, the one their row-level security policies call.
  for v_object in
    select p.oid::regprocedure::text from pg_proc p
    where p.pronamespace in ('upload_scheduler'::regnamespace, 'upload_scheduler_private'::regnamespace)
      and exists (select from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a where a.grantee = 0)
  loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('routine', v_object, 'public', '{}', '{EXECUTE}');
  end loop;
  v_changes := v_changes + upload_scheduler_private.ensure_privileges('schema', 'upload_scheduler_private', 'public', '{}', '{USAGE,CREATE}');

  if to_regrole('upload_scheduler_worker') is null or to_regrole('upload_scheduler_app') is null then
    return v_changes;
  end if;

  foreach v_role in array array['upload_scheduler_worker', 'upload_scheduler_app'] loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('schema', 'upload_scheduler', v_role, '{USAGE}');
    -- Read-only questions, for both.
    foreach v_object in array array[
      'upload_scheduler.current_time_info(text, timestamptz)',
      'upload_scheduler.active_slots_for_day(uuid, text)',
      'upload_scheduler.is_within_time_slot(uuid, timestamptz)',
      'upload_scheduler.upload_count_for_slot(uuid, timestamptz)',
      'upload_scheduler.find_active_slot(uuid, timestamptz)',
      'upload_scheduler.open_slots(timestamptz)',
      'upload_scheduler.preview_tick(timestamptz)',
      'upload_scheduler.slot_status(uuid, timestamptz)',
      'upload_scheduler.limit_status(uuid, timestamptz)',
      'upload_scheduler.get_schedule(uuid)',
      'upload_scheduler.get_schedule(uuid, boolean)',
      'upload_scheduler.upcoming_uploads(uuid, interval, timestamptz)',
      'upload_scheduler.upcoming_windows(uuid, interval, timestamptz)',
      -- The one their row-level security policies call.
      'upload_scheduler_private.app_user_id()'
    ] loop
      v_changes := v_changes + upload_scheduler_private.ensure_privileges('routine', v_object, v_role, '{EXECUTE}');
    end loop;
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('schema', 'upload_scheduler_private', v_role, '{USAGE}');
  end loop;

  -- The runner: the tick, and starting and finishing the attempts its jobs run.
  foreach v_object in array array[
    'upload_scheduler.run_tick(interval, interval, integer, interval, integer, timestamptz)',
    'upload_scheduler.health(interval, integer, timestamptz)',
    'upload_scheduler.start_upload_attempt(uuid, interval, text, timestamptz)',
    'upload_scheduler.finish_upload_attempt(uuid, integer, text, text, timestamptz)',
    'upload_scheduler.begin_attempt(uuid, text, interval, interval, timestamptz, uuid)',
    'upload_scheduler.running_attempt_pids(text)',
    'upload_scheduler.renew_lease(uuid, integer, uuid, interval, bigint, bigint)',
    'upload_scheduler.save_checkpoint(uuid, integer, uuid, jsonb)',
    'upload_scheduler.end_attempt(uuid, integer, uuid, text, text, jsonb, timestamptz, timestamptz)',
    'upload_scheduler.interrupt_dead_workers(text, integer[], timestamptz)',
    'upload_scheduler.worker_seen(text, double precision, boolean, text)',
    'upload_scheduler.heal_crontab(interval)'
  ] loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('routine', v_object, 'upload_scheduler_worker', '{EXECUTE}');
  end loop;

  -- An application, for its user: claim and upload by itself (start_upload, finish_upload: it
  -- cannot end an upload a worker runs), retry. The attempt functions are the runner's.
  foreach v_object in array array[
    'upload_scheduler.start_upload_attempt(uuid, interval, text, timestamptz)',
    'upload_scheduler.finish_upload_attempt(uuid, integer, text, text, timestamptz)'
  ] loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('routine', v_object, 'upload_scheduler_app', '{}', '{EXECUTE}');
  end loop;
  foreach v_object in array array[
    'upload_scheduler.find_next_video_to_upload(uuid, timestamptz)',
    'upload_scheduler.start_upload(uuid, timestamptz)',
    'upload_scheduler.finish_upload(uuid, boolean, text, timestamptz)',
    'upload_scheduler.retry_video(uuid)',
    'upload_scheduler.reconcile(uuid, boolean, text, text, timestamptz)',
    'upload_scheduler.move_to_front(uuid)',
    'upload_scheduler.move_to_position(uuid, integer)',
    'upload_scheduler.withdraw_video(uuid, text)',
    'upload_scheduler.set_schedule(uuid, jsonb)',
    'upload_scheduler.pause_uploads(uuid, timestamptz, text, timestamptz)',
    'upload_scheduler.resume_uploads(uuid)'
  ] loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('routine', v_object, 'upload_scheduler_app', '{EXECUTE}');
  end loop;

  foreach v_object in array array['public.users', 'public.upload_schedules', 'public.upload_schedule_exceptions', 'public.upload_limits', 'public.videos', 'public.upload_attempts'] loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', v_object, 'upload_scheduler_worker', '{SELECT}');
  end loop;
  v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'public.users', 'upload_scheduler_app', '{SELECT,INSERT,UPDATE,DELETE}');
  -- Slots and exceptions: an application inserts them without an id (a tenant that could choose
  -- ids would learn from a 23505 which ids another tenant's rows have), and edits and deletes them.
  foreach v_object in array array['public.upload_schedules', 'public.upload_schedule_exceptions', 'public.upload_limits'] loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', v_object, 'upload_scheduler_app',
      '{SELECT,UPDATE,DELETE}', '{INSERT,TRUNCATE,REFERENCES,TRIGGER,MAINTAIN}');
  end loop;
  v_changes := v_changes + upload_scheduler_private.ensure_column_privileges('public.upload_schedules', 'upload_scheduler_app', 'INSERT',
    '{user_id,day,start_time,end_time,max_uploads,slot_name,is_active,min_interval,created_at}');
  v_changes := v_changes + upload_scheduler_private.ensure_column_privileges('public.upload_schedule_exceptions', 'upload_scheduler_app', 'INSERT',
    '{user_id,local_date,slot_id,max_uploads,note}');
  v_changes := v_changes + upload_scheduler_private.ensure_column_privileges('public.upload_limits', 'upload_scheduler_app', 'INSERT',
    '{user_id,max_uploads,per,time_zone,note}');
  -- Videos: an application queues them (without an id, likewise) and edits what describes them;
  -- their lifecycle moves only through the functions (find_next_video_to_upload, start_upload,
  -- finish_upload, retry_video), so an attempt's outcome is written by that attempt. On the
  -- table, it may read and delete; it inserts and updates only the columns named.
  v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'public.videos', 'upload_scheduler_app',
    '{SELECT,DELETE}', '{INSERT,UPDATE,TRUNCATE,REFERENCES,TRIGGER,MAINTAIN}');
  v_changes := v_changes + upload_scheduler_private.ensure_column_privileges('public.videos', 'upload_scheduler_app', 'INSERT',
    '{user_id,title,source_path,created_at,metadata,destination,not_before}');
  v_changes := v_changes + upload_scheduler_private.ensure_column_privileges('public.videos', 'upload_scheduler_app', 'UPDATE',
    '{title,source_path,metadata,destination,not_before}');
  v_changes := v_changes + upload_scheduler_private.ensure_column_privileges('public.videos', 'upload_scheduler_app', 'SELECT', '{}');
  v_changes := v_changes + upload_scheduler_private.ensure_column_privileges('public.videos', 'upload_scheduler_app', 'REFERENCES', '{}');
  v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'public.upload_attempts', 'upload_scheduler_app', '{SELECT}');
  -- What the errors mean, for both; the ledger, for the worker (the dashboard reads it).
  foreach v_role in array array['upload_scheduler_worker', 'upload_scheduler_app'] loop
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'upload_scheduler.error_codes', v_role, '{SELECT}');
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'upload_scheduler.rule_messages', v_role, '{SELECT}');
    -- The tables' CHECK constraints call refuse() as the writing role, to raise the product's error.
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('routine', 'upload_scheduler_private.refuse(text, text)', v_role, '{EXECUTE}');
  end loop;
  v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'upload_scheduler.places', 'upload_scheduler_worker', '{SELECT}');
  v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'upload_scheduler.workers', 'upload_scheduler_worker', '{SELECT}');

  -- Row-level security (enabled by the migrations): the worker reads every row, an
  -- application only its user's. Policies are made again only when they differ (ensure_policy).
  foreach v_object in array array['users', 'upload_schedules', 'upload_schedule_exceptions', 'upload_limits', 'videos', 'upload_attempts'] loop
    v_changes := v_changes + upload_scheduler_private.ensure_policy(format('public.%I', v_object)::regclass, 'worker_reads_all', 'select', 'upload_scheduler_worker', 'true', null)::integer;
    v_changes := v_changes + upload_scheduler_private.ensure_policy(format('public.%I', v_object)::regclass, 'app_acts_for_its_user', 'all', 'upload_scheduler_app',
      format('(%1$I = ( SELECT upload_scheduler_private.app_user_id() AS app_user_id))', case v_object when 'users' then 'id' else 'user_id' end),
      format('(%1$I = ( SELECT upload_scheduler_private.app_user_id() AS app_user_id))', case v_object when 'users' then 'id' else 'user_id' end))::integer;
  end loop;

  -- Which migrations are applied: a worker that may not migrate checks this at start.
  if to_regclass('graphile_migrate.migrations') is not null then
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('schema', 'graphile_migrate', 'upload_scheduler_worker', '{USAGE}');
    v_changes := v_changes + upload_scheduler_private.ensure_privileges('table', 'graphile_migrate.migrations', 'upload_scheduler_worker', '{SELECT}');
  end if;

  perform upload_scheduler_private.grant_queue_to_worker();
  return v_changes;
end;
$$;

comment on function upload_scheduler_private.grant_roles() is
  E'Internal: grants upload_scheduler_worker and upload_scheduler_app what they may do (and PUBLIC nothing), changing only what differs from the catalog; run by every start and npm run db:migrate. Returns how many privileges and policies it changed (not counting the queue''s).';

select upload_scheduler_private.grant_roles();
