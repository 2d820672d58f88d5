create or replace function upload_scheduler.upload_count_for_slot(
  p_slot_id uuid,
  p_now timestamptz default now()
)
returns integer
language plpgsql
stable
set search_path = pg_catalog
as $$
declare
  v_local_date date;
  v_used integer;
begin
  select (p_now at time zone u.time_zone)::date into v_local_date
  from public.upload_schedules s
  join public.users u on u.id = s.user_id
  where s.id = p_slot_id;

  if not found then
    raise exception 'No slot with id %.', coalesce(p_slot_id::text, 'NULL')
      using errcode = 'UPNSL',
            hint = 'Pass the id of a row of public.upload_schedules (select id, day, start_time, end_time from upload_schedules).';
  end if;

  select c.used into v_used
  from upload_scheduler.slot_day_counts c
  where c.slot_id = p_slot_id and c.local_date = v_local_date;

  return coalesce(v_used, 0);
end;
$$;

comment on function upload_scheduler.upload_count_for_slot(uuid, timestamptz) is
  E'Uploads counted against the slot on p_now''s local date in the owner''s time zone: videos claimed into it that are pending, uploading or success. Failed ones give their place back.';
