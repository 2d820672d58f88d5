-- Who may do what. Applied after every migration, like the functions.
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

-- Graphile Worker's schema, for the worker role (installed by the runner, so this may run
-- before it exists: npm start calls it again once the queue's schema is in place).
create or replace function upload_scheduler_private.grant_queue_to_worker()
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_table text;
begin
  if to_regrole('upload_scheduler_worker') is null or to_regnamespace('graphile_worker') is null then
    return;
  end if;
  grant usage on schema graphile_worker to upload_scheduler_worker;
  grant select, insert, update, delete on all tables in schema graphile_worker to upload_scheduler_worker;
  grant usage, select, update on all sequences in schema graphile_worker to upload_scheduler_worker;
  grant execute on all functions in schema graphile_worker to upload_scheduler_worker;
  -- Graphile Worker keeps row-level security on its private tables (no role but the owner sees
  -- a job); the worker role runs the jobs, so it sees them all.
  for v_table in
    select c.oid::regclass::text from pg_class c
    where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity
  loop
    execute format('drop policy if exists upload_scheduler_worker_runs_jobs on %s', v_table);
    execute format('create policy upload_scheduler_worker_runs_jobs on %s for all to upload_scheduler_worker using (true) with check (true)', v_table);
  end loop;
end;
$$;

comment on function upload_scheduler_private.grant_queue_to_worker() is
  E'Internal: grants upload_scheduler_worker what Graphile Worker''s runner needs in schema graphile_worker (when both exist).';

-- No function of the scheduler is executable by PUBLIC. (PostgreSQL grants EXECUTE to PUBLIC
-- on every new function, and that default cannot be revoked per schema: so this file runs last,
-- after every function exists.) The roles get usage of upload_scheduler_private for one function
-- only, the one their row-level security policies call.
revoke all on all functions in schema upload_scheduler from public;
revoke all on all functions in schema upload_scheduler_private from public;
revoke all on schema upload_scheduler_private from public;

do $$
declare
  v_table text;
begin
  if to_regrole('upload_scheduler_worker') is null or to_regrole('upload_scheduler_app') is null then
    return;
  end if;

  grant usage on schema upload_scheduler to upload_scheduler_worker, upload_scheduler_app;

  -- Read-only questions, for both.
  grant execute on function
    upload_scheduler.current_time_info(text, timestamptz),
    upload_scheduler.active_slots_for_day(uuid, text),
    upload_scheduler.is_within_time_slot(uuid, timestamptz),
    upload_scheduler.upload_count_for_slot(uuid, timestamptz),
    upload_scheduler.find_active_slot(uuid, timestamptz),
    upload_scheduler.open_slots(timestamptz),
    upload_scheduler.preview_tick(timestamptz),
    upload_scheduler.slot_status(uuid, timestamptz),
    upload_scheduler.get_schedule(uuid),
    upload_scheduler.upcoming_uploads(uuid, interval, timestamptz),
    upload_scheduler.upcoming_windows(uuid, interval, timestamptz)
  to upload_scheduler_worker, upload_scheduler_app;

  -- The runner: the tick, and starting and finishing the attempts its jobs run.
  grant execute on function
    upload_scheduler.run_tick(interval, interval, integer, interval, integer, timestamptz),
    upload_scheduler.health(interval, integer, timestamptz),
    upload_scheduler.start_upload_attempt(uuid, interval, text, timestamptz),
    upload_scheduler.finish_upload_attempt(uuid, integer, text, text, timestamptz)
  to upload_scheduler_worker;

  -- An application, for its user: claim and upload by itself (start_upload, finish_upload: it
  -- cannot end an upload a worker runs), retry. The attempt functions are the runner's.
  revoke execute on function
    upload_scheduler.start_upload_attempt(uuid, interval, text, timestamptz),
    upload_scheduler.finish_upload_attempt(uuid, integer, text, text, timestamptz)
  from upload_scheduler_app;
  grant execute on function
    upload_scheduler.find_next_video_to_upload(uuid, timestamptz),
    upload_scheduler.start_upload(uuid, timestamptz),
    upload_scheduler.finish_upload(uuid, boolean, text, timestamptz),
    upload_scheduler.retry_video(uuid),
    upload_scheduler.set_schedule(uuid, jsonb),
    upload_scheduler.pause_uploads(uuid, timestamptz, text, timestamptz),
    upload_scheduler.resume_uploads(uuid)
  to upload_scheduler_app;

  grant select on public.users, public.upload_schedules, public.upload_schedule_exceptions, public.videos, public.upload_attempts
    to upload_scheduler_worker;
  grant select, insert, update, delete on public.users to upload_scheduler_app;
  revoke all on public.upload_schedules, public.upload_schedule_exceptions from upload_scheduler_app;
  grant select, update, delete on public.upload_schedules, public.upload_schedule_exceptions to upload_scheduler_app;
  grant insert (user_id, day, start_time, end_time, max_uploads, slot_name, is_active, min_interval, created_at)
    on public.upload_schedules to upload_scheduler_app;
  grant insert (user_id, local_date, slot_id, max_uploads, note) on public.upload_schedule_exceptions to upload_scheduler_app;
  -- What the errors mean, for both.
  grant select on upload_scheduler.error_codes, upload_scheduler.rule_messages to upload_scheduler_worker, upload_scheduler_app;
  grant select on upload_scheduler.places to upload_scheduler_worker;
  -- Videos: an application queues them and edits what describes them; their lifecycle moves
  -- only through the functions (find_next_video_to_upload, start_upload, finish_upload,
  -- retry_video), so an attempt's outcome is written by that attempt.
  revoke all on public.videos from upload_scheduler_app;
  grant select, delete on public.videos to upload_scheduler_app;
  -- No id column: a tenant that could choose ids would learn from a 23505 which ids another
  -- tenant's rows have.
  grant insert (user_id, title, source_path, created_at), update (title, source_path) on public.videos to upload_scheduler_app;
  grant execute on function upload_scheduler_private.app_user_id() to upload_scheduler_app, upload_scheduler_worker;
  -- The tables' CHECK constraints call refuse() as the writing role, to raise the product's error.
  grant execute on function upload_scheduler_private.refuse(text, text) to upload_scheduler_app, upload_scheduler_worker;
  grant usage on schema upload_scheduler_private to upload_scheduler_app, upload_scheduler_worker;
  grant select on public.upload_attempts to upload_scheduler_app;

  -- Row-level security (enabled by the migrations): the worker reads every row, an
  -- application only its user's.
  foreach v_table in array array['users', 'upload_schedules', 'upload_schedule_exceptions', 'videos', 'upload_attempts'] loop
    execute format('drop policy if exists worker_reads_all on public.%I', v_table);
    execute format('create policy worker_reads_all on public.%I for select to upload_scheduler_worker using (true)', v_table);
    execute format('drop policy if exists app_acts_for_its_user on public.%I', v_table);
    execute format(
      'create policy app_acts_for_its_user on public.%I for all to upload_scheduler_app using (%2$I = (select upload_scheduler_private.app_user_id())) with check (%2$I = (select upload_scheduler_private.app_user_id()))',
      v_table, case v_table when 'users' then 'id' else 'user_id' end);
  end loop;

  -- Which migrations are applied: a worker that may not migrate checks this at start.
  if to_regclass('graphile_migrate.migrations') is not null then
    grant usage on schema graphile_migrate to upload_scheduler_worker;
    grant select on graphile_migrate.migrations to upload_scheduler_worker;
  end if;

  perform upload_scheduler_private.grant_queue_to_worker();
end;
$$;
