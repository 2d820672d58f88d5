-- Local time is computed once per distinct time zone, then slots are found through
-- upload_schedules_open_idx (day, start_time), so the cost follows the open slots, not all slots.
create or replace function upload_scheduler.open_slots(p_now timestamptz default now())
returns table (
  slot_id uuid,
  user_id uuid,
  slot_name varchar(50),
  time_zone text,
  local_date date,
  local_time time,
  max_uploads integer,
  used integer
)
language sql
stable
set search_path = pg_catalog
as $$
  with zones as materialized (
    select z.time_zone,
           (p_now at time zone z.time_zone)::date as local_date,
           upload_scheduler_private.weekday_name(p_now at time zone z.time_zone) as day,
           date_trunc('second', p_now at time zone z.time_zone)::time as local_time
    from (select distinct u.time_zone from public.users u) z
  )
  select s.id, s.user_id, s.slot_name, z.time_zone, z.local_date, z.local_time, s.max_uploads, coalesce(c.used, 0)
  from zones z
  join public.upload_schedules s
    on s.is_active
   and s.day = z.day
   and s.start_time <= z.local_time
   and s.end_time >= z.local_time
  join public.users u on u.id = s.user_id and u.time_zone = z.time_zone
  left join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = z.local_date
$$;

comment on function upload_scheduler.open_slots(timestamptz) is
  E'Every active slot of every user that holds p_now in its owner''s time zone, with the local date and time, max_uploads and how many uploads are already counted against it that day.';
