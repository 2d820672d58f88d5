-- Each time a slot opens in the horizon, with its quota and use that day (day_facts) and notes
-- for daylight saving time, date exceptions and pauses. Instants come in UTC (opens_at, closes_at)
-- and as the user's clock shows them (opens_local, closes_local in time_zone); the notes give
-- local times with the zone's name.
-- (Its columns grew with time_zone, opens_local and closes_local.)
drop function if exists upload_scheduler.upcoming_windows(uuid, interval, timestamptz);
create or replace function upload_scheduler.upcoming_windows(
  p_user_id uuid default null,
  p_horizon interval default '7 days',
  p_now timestamptz default now()
)
returns table (
  user_id uuid,
  slot_id uuid,
  slot_name varchar,
  local_date date,
  opens_at timestamptz,
  closes_at timestamptz,
  max_uploads integer,
  used integer,
  note text,
  time_zone text,
  opens_local timestamp,
  closes_local timestamp
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_until timestamptz;
  v_users uuid[];
begin
  v_until := upload_scheduler_private.check_instant(p_now, 'p_now') + upload_scheduler_private.check_horizon(p_horizon);
  v_users := upload_scheduler_private.users_in_scope(p_user_id);
  return query
  with w as materialized (
    select u.id as user_id, u.time_zone, u.uploads_paused_until, u.pause_reason,
           s.id as slot_id, s.slot_name, s.start_time, s.end_time, s.max_uploads,
           w.local_date, w.opens_at, w.closes_at, w.note,
           row_number() over () as n
    from unnest(v_users) as x (id)
    join public.users u on u.id = x.id
    join public.upload_schedules s on s.user_id = u.id and s.is_active
    cross join lateral upload_scheduler_private.slot_windows(u.time_zone, s.day, s.start_time, s.end_time, p_now, v_until) w
  ),
  f as (
    select * from upload_scheduler_private.day_facts(
      array(select w.user_id from w order by w.n), array(select w.local_date from w order by w.n),
      array(select w.slot_id from w order by w.n), array(select w.start_time from w order by w.n),
      array(select w.end_time from w order by w.n), array(select w.max_uploads from w order by w.n))
  )
  select w.user_id, w.slot_id, w.slot_name, w.local_date, w.opens_at, w.closes_at - interval '1 second', f.quota, f.used,
         nullif(concat_ws('; ',
           w.note,
           case when f.exception_max is not null
                then format('date exception: %s upload%s%s', f.exception_max, case when f.exception_max = 1 then '' else 's' end,
                            coalesce(' (' || f.exception_note || ')', '')) end,
           case when w.uploads_paused_until > greatest(w.opens_at, p_now)
                then format('paused until %s%s', case when w.uploads_paused_until = 'infinity' then 'resumed'
                                                      else to_char(w.uploads_paused_until at time zone w.time_zone, 'YYYY-MM-DD HH24:MI') || ' ' || w.time_zone end,
                            coalesce(': ' || w.pause_reason, '')) end), ''),
         w.time_zone, w.opens_at at time zone w.time_zone, (w.closes_at - interval '1 second') at time zone w.time_zone
  from w
  join f on f.n = w.n
  order by w.user_id, coalesce(w.opens_at, w.local_date::timestamp at time zone w.time_zone), w.start_time;
end;
$$;

comment on function upload_scheduler.upcoming_windows(uuid, interval, timestamptz) is
  E'Each time an active slot opens between p_now and p_now + p_horizon: its local date, opens_at and closes_at (both inclusive, whole seconds), the quota that day (date exceptions applied), how much of it is used, and a note for daylight saving time (opens_at NULL when the slot''s local times do not exist that day; shortened; open twice), date exceptions and pauses (in local time). time_zone, opens_local and closes_local give the opening as the user''s clock shows it. Of one user, or of all when p_user_id is NULL.';
