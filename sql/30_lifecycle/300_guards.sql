-- Who may write the lifecycle. A video's status (and the columns that go with it) and the ledger
-- of places are written by the scheduler's functions alone, each move one guarded UPDATE that
-- also writes the ledger and the attempt history (see the files beside this one):
--   - roles other than the owner cannot write those columns at all (column privileges, in
--     sql/90_access);
--   - the owner's plain UPDATE of them (psql, a migration script) is refused by the statement
--     triggers below with UPMOV, whose hint names the function to call. The triggers read the
--     call stack (PG_CONTEXT): a write is the scheduler's when a function of its two schemas, in
--     which no other role can create functions, is on the stack below the trigger.
-- The row rules themselves are CHECK constraints, which hold even where these triggers are off
-- (session_replication_role = replica, a superuser's switch): see docs/integrity-and-roles.md.

-- Whether the call stack (PG_CONTEXT, read by the caller) holds a function of the scheduler
-- below its first frame (the caller itself).
create or replace function upload_scheduler_private.written_by_scheduler(p_stack text)
returns boolean
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  -- One pass over the text: a line (not the first) that starts with a frame of the scheduler.
  return p_stack ~ '\nPL/pgSQL function upload_scheduler(_private)?\.';
end;
$$;

comment on function upload_scheduler_private.written_by_scheduler(text) is
  E'Internal: true when a call stack (PG_CONTEXT) holds, below its first frame, a PL/pgSQL function of schema upload_scheduler or upload_scheduler_private (where only the owner can create functions).';

create or replace function upload_scheduler_private.tg_videos__lifecycle_by_functions()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_stack text;
begin
  get diagnostics v_stack = pg_context;
  if not upload_scheduler_private.written_by_scheduler(v_stack) then
    perform upload_scheduler_private.refuse('videos_lifecycle_by_functions', format(
      'status, slot_id, slot_date, claimed_at, started_at, finished_at, attempts, worker, last_outcome, last_error, remote_id, remote_url, bytes_sent, bytes_total, resume_state or free_attempts of public.videos (statement: %s)',
      left(regexp_replace(current_query(), '\s+', ' ', 'g'), 300)));
  end if;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_videos__lifecycle_by_functions() is
  E'Trigger: refuses (UPMOV) a plain UPDATE of the lifecycle columns of public.videos; the scheduler''s functions make every move.';

create or replace trigger tg_videos__lifecycle_by_functions
  before update of status, slot_id, slot_date, claimed_at, started_at, finished_at, attempts, worker, last_outcome, last_error,
                   remote_id, remote_url, bytes_sent, bytes_total, resume_state, free_attempts
  on public.videos
  for each statement execute function upload_scheduler_private.tg_videos__lifecycle_by_functions();

create or replace function upload_scheduler_private.tg_places__by_functions()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_stack text;
begin
  get diagnostics v_stack = pg_context;
  if not upload_scheduler_private.written_by_scheduler(v_stack) then
    perform upload_scheduler_private.refuse('places_by_functions', lower(tg_op));
  end if;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_places__by_functions() is
  E'Trigger: refuses (UPMOV) a write to upload_scheduler.places that is not the scheduler''s own.';

create or replace trigger tg_places__by_functions
  before insert or update or delete on upload_scheduler.places
  for each statement execute function upload_scheduler_private.tg_places__by_functions();

-- TRUNCATE skips row triggers and would forget places and history that quotas depend on.
create or replace function upload_scheduler_private.tg_refuse_truncate()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'TRUNCATE of %.% is refused.', tg_table_schema, tg_table_name
    using errcode = 'UPTRN',
          detail = 'TRUNCATE skips the triggers that keep the ledger of places and the upload history in step.',
          hint = format('Use DELETE FROM %I.%I instead (with a WHERE clause to keep what you need).', tg_table_schema, tg_table_name);
end;
$$;

comment on function upload_scheduler_private.tg_refuse_truncate() is
  E'Trigger: refuses TRUNCATE of the scheduler''s tables (UPTRN); DELETE keeps the ledger in step.';

do $$
declare
  v_table regclass;
begin
  foreach v_table in array array[
    'public.users', 'public.upload_schedules', 'public.upload_schedule_exceptions', 'public.videos', 'public.upload_attempts',
    'upload_scheduler.places']::regclass[]
  loop
    execute format('create or replace trigger tg_refuse_truncate before truncate on %s for each statement execute function upload_scheduler_private.tg_refuse_truncate()', v_table);
  end loop;
end;
$$;
