create or replace function upload_scheduler.find_next_video_to_upload(
  p_user_id uuid,
  p_now timestamptz default now()
)
returns setof public.videos
language plpgsql
volatile
rows 1
set search_path = pg_catalog
-- Planned once per session: a custom plan for every call costs more than the claim itself.
set plan_cache_mode = force_generic_plan
as $$
declare
  v_slot_id uuid;
  v_local_date date;
  v_max_uploads integer;
begin
  select s.id, (p_now at time zone u.time_zone)::date, s.max_uploads
    into v_slot_id, v_local_date, v_max_uploads
  from public.users u
  left join public.upload_schedules s
    on s.user_id = u.id
   and s.is_active
   and s.day = upload_scheduler_private.weekday_name(p_now at time zone u.time_zone)
   and date_trunc('second', p_now at time zone u.time_zone)::time between s.start_time and s.end_time
  where u.id = p_user_id
  limit 1;

  if not found then
    raise exception 'No user with id %.', coalesce(p_user_id::text, 'NULL')
      using errcode = 'UPNUS',
            hint = 'Pass the id of a row of public.users.';
  end if;

  if v_slot_id is not null then
    return query
      select * from upload_scheduler_private.claim_into_slots(
        array[v_slot_id], array[v_local_date], array[p_user_id], array[v_max_uploads], 1, p_now);
  end if;
end;
$$;

comment on function upload_scheduler.find_next_video_to_upload(uuid, timestamptz) is
  E'Claims the user''s oldest initiate video (by created_at, then id) into the slot open at p_now, if it has room today: initiate -> pending, atomically. No row when no slot is open, the slot is full or nothing waits.';
