create or replace function upload_scheduler.find_next_video_to_upload(
  p_user_id uuid,
  p_now timestamptz default now()
)
returns setof public.videos
language plpgsql
volatile
security definer
rows 1
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.user_time_zone(p_user_id);
  return query select * from upload_scheduler_private.claim_for_users(array[p_user_id], 1, p_now, true);
end;
$$;

comment on function upload_scheduler.find_next_video_to_upload(uuid, timestamptz) is
  E'Claims the user''s oldest initiate video (by created_at, then id) into the slot open at p_now, if it has room today: initiate -> pending, atomically. No row when no slot is open, the slot is full or nothing waits.';
