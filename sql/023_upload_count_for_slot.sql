create or replace function upload_scheduler.upload_count_for_slot(
  p_slot_id uuid,
  p_now timestamptz default now()
)
returns integer
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_used integer;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.slot_owner(p_slot_id);
  select c.used into v_used
  from public.upload_schedules s
  join public.users u on u.id = s.user_id
  join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = (p_now at time zone u.time_zone)::date
  where s.id = p_slot_id;
  return coalesce(v_used, 0);
end;
$$;

comment on function upload_scheduler.upload_count_for_slot(uuid, timestamptz) is
  E'Uploads counted against the slot on p_now''s local date in the owner''s time zone: videos claimed into it that are pending, uploading or success (failed ones give their place back), and the places kept by deleted uploads and by deleted slots at the same times.';
