create or replace function upload_scheduler.is_within_time_slot(
  p_slot_id uuid,
  p_now timestamptz default now()
)
returns boolean
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_result boolean;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.slot_owner(p_slot_id);
  select s.day = upload_scheduler_private.weekday_name(l.local_ts)
         and date_trunc('second', l.local_ts)::time between s.start_time and s.end_time
    into v_result
  from public.upload_schedules s
  join public.users u on u.id = s.user_id
  cross join lateral (select p_now at time zone u.time_zone as local_ts) l
  where s.id = p_slot_id;
  return v_result;
end;
$$;

comment on function upload_scheduler.is_within_time_slot(uuid, timestamptz) is
  E'True when p_now, in the slot owner''s time zone, falls on the slot''s weekday between start_time and end_time, both inclusive, compared at whole seconds. Ignores is_active and the quota.';
