-- The weekly schedule as the scheduler sees it at p_now: every slot, today's facts of today's
-- slots (day_facts) and which one is open (claimable).
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
as $$
declare
  v_users uuid[];
  v_today record;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  v_users := upload_scheduler_private.users_in_scope(p_user_id);

  -- Today's slots of these users, as day_facts takes them.
  select array_agg(s.user_id) as users, array_agg((p_now at time zone u.time_zone)::date) as dates, array_agg(s.id) as slots,
         array_agg(s.start_time) as starts, array_agg(s.end_time) as ends, array_agg(s.max_uploads) as maxes
    into v_today
  from unnest(v_users) as x (id)
  join public.users u on u.id = x.id
  join public.upload_schedules s on s.user_id = u.id
  where s.day = upload_scheduler_private.weekday_name(p_now at time zone u.time_zone);

  return query
  select s.user_id, s.id, s.slot_name, s.day::text, s.start_time, s.end_time, s.is_active, s.max_uploads, u.time_zone,
         f.slot_id is not null,
         coalesce(c.slot_id = s.id, false),
         f.used,
         greatest(f.quota - f.used, 0),
         s.min_interval,
         f.quota,
         case when u.uploads_paused_until > p_now then u.uploads_paused_until end
  from unnest(v_users) as x (id)
  join public.users u on u.id = x.id
  join public.upload_schedules s on s.user_id = u.id
  left join upload_scheduler_private.claimable(v_users, p_now) c on c.user_id = s.user_id
  left join upload_scheduler_private.day_facts(v_today.users, v_today.dates, v_today.slots, v_today.starts, v_today.ends, v_today.maxes) f
    on f.slot_id = s.id
  order by s.user_id,
           array_position(array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']::text[], s.day::text),
           s.start_time;
end;
$$;

comment on function upload_scheduler.slot_status(uuid, timestamptz) is
  E'The weekly schedule as the scheduler sees it at p_now: every slot (of one user, or of all when p_user_id is NULL) in weekday order, whether it is today and open now, today''s quota (date exceptions applied), use and room, its pacing, and the user''s pause. Raises UPNUS for an unknown user.';
