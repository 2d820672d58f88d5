create or replace function upload_scheduler.start_upload(
  p_video_id uuid,
  p_now timestamptz default now()
)
returns public.videos
language plpgsql
volatile
set search_path = pg_catalog
as $$
declare
  v_video public.videos;
begin
  update public.videos v
  set status = 'uploading', started_at = p_now, finished_at = null, attempts = v.attempts + 1
  where v.id = p_video_id and v.status = 'pending'
  returning v.* into v_video;

  if not found then
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'pending', 'start_upload');
  end if;
  return v_video;
end;
$$;

comment on function upload_scheduler.start_upload(uuid, timestamptz) is
  E'pending -> uploading: records started_at = p_now and counts the attempt. Raises UPSTS when the video is not pending (someone else started it, or it was reset).';
