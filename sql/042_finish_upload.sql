create or replace function upload_scheduler.finish_upload(
  p_video_id uuid,
  p_succeeded boolean,
  p_error text default null,
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
  if p_succeeded is null then
    raise exception 'p_succeeded is NULL for video %.', p_video_id
      using errcode = 'UPARG',
            hint = 'Pass true when the upload succeeded, false (with p_error) when it failed.';
  end if;

  update public.videos v
  set status = case when p_succeeded then 'success' else 'failed' end,
      finished_at = p_now,
      last_error = case when p_succeeded then null
                        else coalesce(nullif(p_error, ''), 'upload failed (no error message given)') end
  where v.id = p_video_id and v.status = 'uploading'
  returning v.* into v_video;

  if not found then
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'uploading', 'finish_upload');
  end if;
  return v_video;
end;
$$;

comment on function upload_scheduler.finish_upload(uuid, boolean, text, timestamptz) is
  E'uploading -> success (clearing last_error), or -> failed keeping p_error as last_error; records finished_at = p_now. A failed upload gives its place in the slot back. Raises UPSTS when the video is not uploading (never started, or already finished).';
