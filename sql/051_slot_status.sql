-- The result gained min_interval, quota_today and paused_until; a changed result type needs a drop.
do $$
begin
  if pg_get_function_result(to_regprocedure('upload_scheduler.slot_status(uuid, timestamptz)')) not like '%quota_today%' then
    drop function upload_scheduler.slot_status(uuid, timestamptz);
  end if;
end;
$$;

create or replace function upload_scheduler.slot_status(
  p_user_id uuid default null,
  p_now timestamptz default now()
)
returns table (
  user_id uuid,
  slot_id uuid,
  slot_name varchar,
  day text,
  start_time time,
  end_time time,
  is_active boolean,
  max_uploads integer,
  time_zone text,
  is_today boolean,
  is_open_now boolean,
  used_today integer,
  room_today integer,
  min_interval interval,
  quota_today integer,
  paused_until timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_user_id is not null then
    perform upload_scheduler_private.user_time_zone(p_user_id);
  end if;
  return query
  select s.user_id, s.id, s.slot_name, s.day::text, s.start_time, s.end_time, s.is_active, s.max_uploads, u.time_zone,
         l.day = s.day,
         s.is_active and l.day = s.day and l.local_time between s.start_time and s.end_time,
         case when l.day = s.day then coalesce(c.used, 0) end,
         case when l.day = s.day then greatest(q.quota - coalesce(c.used, 0), 0) end,
         s.min_interval,
         case when l.day = s.day then q.quota end,
         case when u.uploads_paused_until > p_now then u.uploads_paused_until end
  from public.upload_schedules s
  join public.users u on u.id = s.user_id
  cross join lateral (
    select upload_scheduler_private.weekday_name(p_now at time zone u.time_zone) as day,
           (p_now at time zone u.time_zone)::date as local_date,
           date_trunc('second', p_now at time zone u.time_zone)::time as local_time
  ) l
  left join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = l.local_date
  cross join lateral (
    select upload_scheduler_private.effective_quota(s.user_id, s.id, l.local_date, s.max_uploads) as quota
  ) q
  where (p_user_id is null or s.user_id = p_user_id)
    and (v_scope is null or s.user_id = v_scope)
  order by s.user_id,
           array_position(array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']::text[], s.day::text),
           s.start_time;
end;
$$;

comment on function upload_scheduler.slot_status(uuid, timestamptz) is
  E'The weekly schedule as the scheduler sees it at p_now: every slot (of one user, or of all when p_user_id is NULL) in weekday order, whether it is today and open now, today''s quota (date exceptions applied), use and room, its pacing, and the user''s pause. Raises UPNUS for an unknown user.';
