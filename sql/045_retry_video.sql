create or replace function upload_scheduler.retry_video(
  p_video_id uuid
)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_video public.videos;
begin
  perform upload_scheduler_private.video_owner(p_video_id);
  update public.videos v
  set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, started_at = null, finished_at = null
  where v.id = p_video_id and v.status = 'failed'
  returning v.* into v_video;

  if not found then
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'failed', 'retry_video');
  end if;
  return v_video;
end;
$$;

comment on function upload_scheduler.retry_video(uuid) is
  E'failed -> initiate now, whatever its attempts: the video waits for the next open slot. last_error and attempts are kept.';
