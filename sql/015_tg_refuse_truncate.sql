-- TRUNCATE skips row triggers: it would empty videos while the day's counters still count
-- them (new videos would never be claimed), or drop slots under pending videos.
create or replace function upload_scheduler_private.tg_refuse_truncate()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  raise exception 'TRUNCATE of %.% is refused.', tg_table_schema, tg_table_name
    using errcode = 'UPTRN',
          detail = 'TRUNCATE skips the triggers that keep each slot''s count of the day, and the upload history, in step.',
          hint = format('Use DELETE FROM %I.%I instead (with a WHERE clause to keep what you need).', tg_table_schema, tg_table_name);
end;
$$;

comment on function upload_scheduler_private.tg_refuse_truncate() is
  E'Trigger: refuses TRUNCATE of the scheduler''s tables (UPTRN); DELETE keeps the counters in step.';

do $$
declare
  v_table regclass;
begin
  foreach v_table in array array[
    'public.users', 'public.upload_schedules', 'public.upload_schedule_exceptions', 'public.videos', 'public.upload_attempts',
    'upload_scheduler.slot_day_counts', 'upload_scheduler.retired_slot_uses']::regclass[]
  loop
    execute format('drop trigger if exists tg_refuse_truncate on %s', v_table);
    execute format('create trigger tg_refuse_truncate before truncate on %s for each statement execute function upload_scheduler_private.tg_refuse_truncate()', v_table);
  end loop;
end;
$$;
