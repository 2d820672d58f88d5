create or replace function upload_scheduler.find_active_slot(
  p_user_id uuid,
  p_now timestamptz default now()
)
returns setof public.upload_schedules
language plpgsql
stable
security definer
rows 1
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_local timestamp;
begin
  v_local := upload_scheduler_private.check_instant(p_now, 'p_now')
             at time zone upload_scheduler_private.user_time_zone(p_user_id);
  return query
  select s.*
  from public.upload_schedules s
  left join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = v_local::date
  where s.user_id = p_user_id
    and s.is_active
    and s.day = upload_scheduler_private.weekday_name(v_local)
    and date_trunc('second', v_local)::time between s.start_time and s.end_time
    and coalesce(c.used, 0) < upload_scheduler_private.effective_quota(s.user_id, s.id, v_local::date, s.max_uploads)
  order by s.start_time
  limit 1;
end;
$$;

comment on function upload_scheduler.find_active_slot(uuid, timestamptz) is
  E'The user''s active slot that holds p_now (local time, whole seconds, inclusive ends) and still has room today (date exceptions applied); no row when there is none. Ignores pause and pacing, which decide when a claim happens, not whether the slot has room.';
