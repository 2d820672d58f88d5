-- uploading -> success | failed, for one attempt: one guarded UPDATE (the video must still be
-- uploading that attempt), which closes the attempt's row and, for a failure, gives the place
-- back. A late report of attempt 1 can never land on attempt 2. Writing the same outcome twice is
-- harmless (a worker that lost the acknowledgement of its first write may send it again).
create or replace function upload_scheduler.finish_upload_attempt(
  p_video_id uuid,
  p_attempt integer,
  p_outcome text,
  p_error text default null,
  p_now timestamptz default now()
)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
-- A tenant may hold its own video's row (SELECT … FOR UPDATE): a worker does not wait on it for long.
set lock_timeout = '5s'
as $$
declare
  v_video public.videos;
  v_recorded public.upload_attempts;
  v_error text;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_outcome is null or p_outcome not in ('success', 'failed', 'timed_out', 'aborted') then
    raise exception 'Unknown outcome % for video %.', coalesce(quote_literal(p_outcome), 'NULL'), p_video_id
      using errcode = 'UPARG',
            hint = 'An attempt ends as success, failed, timed_out or aborted.';
  end if;
  if p_attempt is null or p_attempt < 1 then
    raise exception 'p_attempt % is not an attempt number.', coalesce(p_attempt::text, 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass the number start_upload returned (videos.attempts after the start): 1 for the first upload.';
  end if;
  perform upload_scheduler_private.video_owner(p_video_id);

  select v.* into v_video from public.videos v where v.id = p_video_id;
  -- A worker's upload ends by that worker's report (or as interrupted): an application ending
  -- it could have it retried, and uploaded twice, while the worker still uploads it.
  if v_video.status = 'uploading' and v_video.worker is not null and upload_scheduler_private.acting_user_id() is not null then
    raise exception 'Video % is being uploaded by worker %: this session cannot end that attempt.', p_video_id, v_video.worker
      using errcode = 'UPOWN',
            detail = 'An application session ends only the uploads it started itself (start_upload).',
            hint = 'Wait for the worker''s outcome; if that worker is gone, the upload is failed as interrupted and retried.';
  end if;
  if v_video.status = 'uploading' and v_video.attempts = p_attempt and p_now < v_video.started_at then
    raise exception 'p_now % is before attempt % of video % started (%).', p_now, p_attempt, p_video_id, v_video.started_at
      using errcode = 'UPARG',
            hint = 'Pass the instant the upload ended, or leave p_now out for now().';
  end if;

  v_error := case when p_outcome = 'success' then null
                  else left(coalesce(nullif(p_error, ''), case p_outcome
                         when 'timed_out' then 'upload timed out'
                         when 'aborted' then 'upload aborted'
                         else 'upload failed (no error message given)' end), 10000) end;
  update public.videos v
  set status = case when p_outcome = 'success' then 'success' else 'failed' end,
      finished_at = p_now,
      last_outcome = p_outcome,
      last_error = v_error
  where v.id = p_video_id and v.status = 'uploading' and v.attempts = p_attempt and v.started_at <= p_now
  returning v.* into v_video;
  if found then
    update public.upload_attempts a
    set finished_at = p_now, outcome = p_outcome, error = v_error
    where a.video_id = p_video_id and a.attempt = p_attempt and a.started_at is not null and a.outcome is null;
    if p_outcome <> 'success' then
      perform upload_scheduler_private.release_places(array[p_video_id], p_now);
    end if;
    return v_video;
  end if;

  select v.* into v_video from public.videos v where v.id = p_video_id;
  select a.* into v_recorded from public.upload_attempts a
  where a.video_id = p_video_id and a.attempt = p_attempt and a.started_at is not null;
  if v_recorded.outcome = p_outcome then
    return v_video;
  end if;
  raise exception 'Attempt % of video % is not running: %.', p_attempt, p_video_id,
      case
        when v_recorded.id is null then format('the video has had %s attempts and is %s', v_video.attempts, v_video.status)
        when v_recorded.outcome is null then format('the video is %s on attempt %s', v_video.status, v_video.attempts)
        else format('it ended as %s at %s', v_recorded.outcome, v_recorded.finished_at)
      end
    using errcode = 'UPSUP',
          hint = 'Only the attempt that is uploading can record its outcome, once. See select * from upload_attempts where video_id = …';
end;
$$;

comment on function upload_scheduler.finish_upload_attempt(uuid, integer, text, text, timestamptz) is
  E'Ends attempt p_attempt of an uploading video: success, or failed / timed_out / aborted (status failed, keeping p_error and giving the place back), at p_now. Repeating the recorded outcome returns quietly; any other call for an attempt that is not running raises UPSUP.';

create or replace function upload_scheduler.finish_upload(
  p_video_id uuid,
  p_succeeded boolean,
  p_error text default null,
  p_now timestamptz default now()
)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_attempt integer;
begin
  if p_succeeded is null then
    raise exception 'p_succeeded is NULL for video %.', p_video_id
      using errcode = 'UPARG',
            hint = 'Pass true when the upload succeeded, false (with p_error) when it failed.';
  end if;
  perform upload_scheduler_private.video_owner(p_video_id);
  select v.attempts into v_attempt from public.videos v where v.id = p_video_id and v.status = 'uploading';
  if not found then
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'uploading', 'finish_upload');
  end if;
  return upload_scheduler.finish_upload_attempt(p_video_id, v_attempt, case when p_succeeded then 'success' else 'failed' end, p_error, p_now);
end;
$$;

comment on function upload_scheduler.finish_upload(uuid, boolean, text, timestamptz) is
  E'uploading -> success (clearing last_error), or -> failed keeping p_error as last_error; records finished_at = p_now and closes the attempt. A failed upload gives its place in the slot back. Raises UPSTS when the video is not uploading (never started, or already finished).';
