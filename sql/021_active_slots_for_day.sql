create or replace function upload_scheduler.active_slots_for_day(p_user_id uuid, p_day text)
returns setof public.upload_schedules
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_day text := upload_scheduler_private.normalize_weekday(p_day);
begin
  perform upload_scheduler_private.user_time_zone(p_user_id);
  return query
    select s.*
    from public.upload_schedules s
    where s.user_id = p_user_id and s.day = v_day and s.is_active
    order by s.start_time;
end;
$$;

comment on function upload_scheduler.active_slots_for_day(uuid, text) is
  E'The user''s active slots on a weekday (any case), ordered by start_time. Raises UPNUS for an unknown user and UPDAY for an unknown weekday.';
