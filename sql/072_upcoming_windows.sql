-- The horizon of a forecast: positive, at most a year.
create or replace function upload_scheduler_private.check_horizon(p_horizon interval)
returns interval
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  if p_horizon is null or p_horizon <= interval '0' or p_horizon > interval '366 days' then
    raise exception 'p_horizon % is not a positive interval of at most a year.', coalesce(quote_literal(p_horizon::text), 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass how far ahead to look, e.g. ''7 days''.';
  end if;
  return p_horizon;
end;
$$;

comment on function upload_scheduler_private.check_horizon(interval) is
  E'Returns p_horizon; raises UPARG unless 0 < p_horizon <= 366 days.';

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
  note text
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
  v_until timestamptz;
begin
  v_until := upload_scheduler_private.check_instant(p_now, 'p_now') + upload_scheduler_private.check_horizon(p_horizon);
  if p_user_id is not null then
    perform upload_scheduler_private.user_time_zone(p_user_id);
  end if;
  return query
  select s.user_id, s.id, s.slot_name, w.local_date, w.opens_at, w.closes_at - interval '1 second',
         coalesce(e.max_uploads, s.max_uploads), coalesce(c.used, 0),
         nullif(concat_ws('; ',
           w.note,
           case when e.max_uploads is not null
                then format('date exception: %s upload%s%s', e.max_uploads, case when e.max_uploads = 1 then '' else 's' end,
                            coalesce(' (' || e.note || ')', '')) end,
           case when u.uploads_paused_until > greatest(w.opens_at, p_now)
                then format('paused until %s%s', u.uploads_paused_until, coalesce(': ' || u.pause_reason, '')) end), '')
  from public.users u
  join public.upload_schedules s on s.user_id = u.id and s.is_active
  cross join lateral upload_scheduler_private.slot_windows(u.time_zone, s.day, s.start_time, s.end_time, p_now, v_until) w
  left join lateral (
    select x.max_uploads, x.note from public.upload_schedule_exceptions x
    where x.user_id = u.id and x.local_date = w.local_date and (x.slot_id = s.id or x.slot_id is null)
    order by x.slot_id nulls last
    limit 1
  ) e on true
  left join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = w.local_date
  where (p_user_id is null or u.id = p_user_id)
    and (v_scope is null or u.id = v_scope)
  order by u.id, coalesce(w.opens_at, w.local_date::timestamp at time zone u.time_zone), s.start_time;
end;
$$;

comment on function upload_scheduler.upcoming_windows(uuid, interval, timestamptz) is
  E'Each time an active slot opens between p_now and p_now + p_horizon: its local date, opens_at and closes_at (both inclusive, whole seconds), the quota that day (date exceptions applied), how much of it is used, and a note for daylight saving time (opens_at NULL when the slot''s local times do not exist that day; shortened; open twice), date exceptions and pauses. Of one user, or of all when p_user_id is NULL.';
