-- Queue control, as a person managing a creator's queue expects: move a video to the head of its
-- user's queue, withdraw one that waits. (A not-before time is a column: videos.not_before.)

-- The head of the queue: the next claim of this user takes it, inside the open slot's quota.
create or replace function upload_scheduler.move_to_front(p_video_id uuid)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  v_video public.videos;
begin
  perform upload_scheduler_private.video_owner(p_video_id);
  update public.videos v
  set queue_priority = 1 + coalesce((select max(w.queue_priority) from public.videos w
                                     where w.user_id = v.user_id and w.status = 'initiate'), 0)
  where v.id = p_video_id and v.status = 'initiate'
  returning v.* into v_video;
  if not found then
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'initiate', 'move_to_front');
  end if;
  return v_video;
end;
$$;

comment on function upload_scheduler.move_to_front(uuid) is
  E'Puts a waiting (initiate) video at the head of its user''s queue, without changing its created_at: the user''s next claim takes it (its not_before and the slot''s quota still apply). Moved again later, another video goes before it. Raises UPSTS when the video is not waiting.';

-- A waiting video cancelled, its reason on record: failed, last_outcome withdrawn, never retried
-- by the sweep. retry_video puts it back in the queue.
create or replace function upload_scheduler.withdraw_video(p_video_id uuid, p_reason text default null)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  v_video public.videos;
begin
  perform upload_scheduler_private.video_owner(p_video_id);
  update public.videos v
  set status = 'failed', slot_id = null, slot_date = null, claimed_at = null, started_at = null,
      finished_at = now(), last_outcome = 'withdrawn',
      last_error = left('withdrawn' || coalesce(': ' || nullif(btrim(p_reason), ''), ''), 10000)
  where v.id = p_video_id and (v.status = 'initiate' or (v.status = 'failed' and v.last_outcome is distinct from 'withdrawn'))
  returning v.* into v_video;
  if not found then
    select v.* into v_video from public.videos v where v.id = p_video_id;
    if v_video.status in ('pending', 'uploading') then
      raise exception 'Video % is %: it is claimed, and cannot be withdrawn now.', p_video_id, v_video.status
        using errcode = 'UPSTS',
              hint = 'Withdraw it once it is back in the queue or failed; to stop it being claimed meanwhile, pause its user (pause_uploads).';
    end if;
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'initiate', 'withdraw_video');
  end if;
  return v_video;
end;
$$;

comment on function upload_scheduler.withdraw_video(uuid, text) is
  E'Cancels a waiting (initiate, or failed and not yet retried) video: it becomes failed with last_outcome ''withdrawn'' and last_error ''withdrawn: <p_reason>'', and the sweep never retries it (retry_video puts it back in the queue). Raises UPSTS for a claimed, uploading, uploaded or already withdrawn video.';
