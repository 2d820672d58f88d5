create or replace function upload_scheduler.active_slots_for_day(p_user_id uuid, p_day text)
returns setof public.upload_schedules
language sql
stable
set search_path = pg_catalog
as $$
  select s.*
  from public.upload_schedules s
  where s.user_id = p_user_id
    and s.day = upload_scheduler_private.normalize_weekday(p_day)
    and s.is_active
  order by s.start_time
$$;

comment on function upload_scheduler.active_slots_for_day(uuid, text) is
  E'The user''s active slots on a weekday (any case), ordered by start_time.';
