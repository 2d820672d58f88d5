create or replace function upload_scheduler.is_within_time_slot(
  p_slot_id uuid,
  p_now timestamptz default now()
)
returns boolean
language plpgsql
stable
set search_path = pg_catalog
as $$
declare
  v_result boolean;
begin
  select s.day = upload_scheduler_private.weekday_name(l.local_ts)
         and date_trunc('second', l.local_ts)::time between s.start_time and s.end_time
    into v_result
  from public.upload_schedules s
  join public.users u on u.id = s.user_id
  cross join lateral (select p_now at time zone u.time_zone as local_ts) l
  where s.id = p_slot_id;

  if not found then
    raise exception 'No slot with id %.', coalesce(p_slot_id::text, 'NULL')
      using errcode = 'UPNSL',
            hint = 'Pass the id of a row of public.upload_schedules (select id, day, start_time, end_time from upload_schedules).';
  end if;
  return v_result;
end;
$$;

comment on function upload_scheduler.is_within_time_slot(uuid, timestamptz) is
  E'True when p_now, in the slot owner''s time zone, falls on the slot''s weekday between start_time and end_time, both inclusive, compared at whole seconds. Ignores is_active and the quota.';
