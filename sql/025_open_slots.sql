-- Local time is computed once per distinct time zone; then each user of that zone
-- (users_time_zone_idx) costs one probe of upload_schedules_user_day_idx.
-- slot_name was varchar(50) until the integrity migration; a changed result type needs a drop.
do $$
begin
  if pg_get_function_result(to_regprocedure('upload_scheduler.open_slots(timestamptz)')) like '%varying(50)%' then
    drop function upload_scheduler.open_slots(timestamptz);
  end if;
end;
$$;

create or replace function upload_scheduler.open_slots(p_now timestamptz default now())
returns table (
  slot_id uuid,
  user_id uuid,
  slot_name varchar,
  time_zone text,
  local_date date,
  local_time time,
  max_uploads integer,
  used integer
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
-- Index lookups only (see the comment above): the cost follows the open slots and the claims,
-- never the size of videos or slot_day_counts, which grow every day.
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  return query
  with zones as materialized (
    select z.time_zone,
           (p_now at time zone z.time_zone)::date as local_date,
           upload_scheduler_private.weekday_name(p_now at time zone z.time_zone) as day,
           date_trunc('second', p_now at time zone z.time_zone)::time as local_time
    from (select distinct u.time_zone from public.users u where v_scope is null or u.id = v_scope) z
  )
  select s.id, u.id, s.slot_name, z.time_zone, z.local_date, z.local_time, coalesce(e.max_uploads, s.max_uploads), coalesce(c.used, 0)
  from zones z
  join public.users u on u.time_zone = z.time_zone and (v_scope is null or u.id = v_scope)
  -- Active slots of one user do not overlap: the one that started last before now is the only candidate.
  cross join lateral (
    select s.id, s.slot_name, s.max_uploads, s.end_time
    from public.upload_schedules s
    where s.user_id = u.id and s.day = z.day and s.is_active and s.start_time <= z.local_time
    order by s.start_time desc
    limit 1
  ) s
  -- The quota that day: a date exception of the slot, else of the whole day, else the slot's.
  left join lateral (
    select e.max_uploads from public.upload_schedule_exceptions e
    where e.user_id = u.id and e.local_date = z.local_date and (e.slot_id = s.id or e.slot_id is null)
    order by e.slot_id nulls last
    limit 1
  ) e on true
  left join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = z.local_date
  where s.end_time >= z.local_time;
end;
$$;

comment on function upload_scheduler.open_slots(timestamptz) is
  E'Every active slot of every user (of the session''s user, for an application role) that holds p_now in its owner''s time zone, with the local date and time, its quota that day (max_uploads, or a date exception''s) and how many uploads are already counted against it.';
