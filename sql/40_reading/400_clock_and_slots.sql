-- The clock and the week as the scheduler reads them: no quota, no rule.

create or replace function upload_scheduler.current_time_info(
  p_time_zone text default 'Asia/Kolkata',
  p_now timestamptz default now()
)
returns table (local_timestamp timestamp, local_date date, day text, local_time time, time_zone text)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_local timestamp;
begin
  v_local := upload_scheduler_private.check_instant(p_now, 'p_now')
             at time zone upload_scheduler_private.assert_known_time_zone(p_time_zone);
  return query
    select v_local, v_local::date, upload_scheduler_private.weekday_name(v_local), v_local::time, p_time_zone;
end;
$$;

comment on function upload_scheduler.current_time_info(text, timestamptz) is
  E'The clock as the scheduler sees it in a time zone: local timestamp, date, lowercase weekday and time. Pass p_now to ask about another instant, e.g. current_time_info(''Asia/Kolkata'', ''2026-11-30 09:00+05:30'').';

create or replace function upload_scheduler.active_slots_for_day(p_user_id uuid, p_day text)
returns setof public.upload_schedules
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
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

create or replace function upload_scheduler.is_within_time_slot(
  p_slot_id uuid,
  p_now timestamptz default now()
)
returns boolean
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
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
