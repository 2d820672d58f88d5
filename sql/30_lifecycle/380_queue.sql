-- Queue control, as a person managing a creator's queue expects: move a video to the head of its
-- user's queue or to a given position in it, withdraw one that waits. (A not-before time is a column: videos.not_before.)

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

-- A given place in the queue: the video goes to position p_position of its user's waiting videos
-- (1 is the head; past the end, the end), the others keeping their order. Only queue_priority
-- changes, of this video and of those that stay ahead of it where theirs must rise above its own;
-- no created_at is rewritten. It takes the user's due row first, as a claim does, so no claim
-- of the user runs while the order is being rewritten.
create or replace function upload_scheduler.move_to_position(p_video_id uuid, p_position integer)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  v_user uuid;
  v_video public.videos;
  v_count integer;
  v_k integer;
  v_priority integer;
begin
  if p_position is null or p_position < 1 then
    raise exception 'p_position % is not a position in the queue.', coalesce(p_position::text, 'NULL')
      using errcode = 'UPARG',
            hint = 'Give 1 for the head of the queue (or call move_to_front), 2 for the place after the first video, and so on.';
  end if;
  v_user := upload_scheduler_private.video_owner(p_video_id);
  update upload_scheduler.user_due d set due_at = d.due_at where d.user_id = v_user;
  perform 1 from public.videos v where v.id = p_video_id and v.status = 'initiate' for update;
  if not found then
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'initiate', 'move_to_position');
  end if;
  select count(*)::int into v_count from public.videos v
  where v.user_id = v_user and v.status = 'initiate' and v.id <> p_video_id;
  v_k := least(p_position, v_count + 1);
  -- Its priority: one above the video now at position k (which will follow it), or, at the end,
  -- one below the last.
  select case when v_k <= v_count then q.queue_priority + 1 else q.queue_priority - 1 end into v_priority
  from (
    select v.queue_priority, row_number() over (order by v.queue_priority desc, v.created_at, v.id) as n
    from public.videos v
    where v.user_id = v_user and v.status = 'initiate' and v.id <> p_video_id
  ) q
  where q.n = least(v_k, v_count);
  v_priority := coalesce(v_priority, 0);
  -- The videos that stay ahead: each at least as high as its place needs, the order among them kept.
  with ahead as (
    select v.id, v.queue_priority, row_number() over (order by v.queue_priority desc, v.created_at, v.id) as n
    from public.videos v
    where v.user_id = v_user and v.status = 'initiate' and v.id <> p_video_id
  )
  update public.videos v
  set queue_priority = v_priority + (v_k - a.n)
  from ahead a
  where v.id = a.id and a.n < v_k and a.queue_priority < v_priority + (v_k - a.n) and v.status = 'initiate';
  update public.videos v
  set queue_priority = v_priority
  where v.id = p_video_id
  returning v.* into v_video;
  return v_video;
end;
$$;

comment on function upload_scheduler.move_to_position(uuid, integer) is
  E'Puts a waiting (initiate) video at position p_position of its user''s queue (1: the head, as move_to_front; past the end: the end), the other videos keeping their order; only queue_priority changes, never created_at. upcoming_uploads shows the new order. Raises UPARG for a position below 1, UPSTS when the video is not waiting.';

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
