-- pending -> uploading, for the current attempt. Not outside the schedule: the window is the one
-- the video's place was taken in (from the ledger: the slot may have changed since), and a video
-- whose window closed more than p_start_grace ago goes back to the queue instead (its place with
-- it), on record as a late attempt; the row returned is then 'initiate', and the caller must not
-- upload. A worker's attempt (begin_attempt) also gets a lease on the database's clock and a
-- token that only its hash is kept of.
create or replace function upload_scheduler_private.start_attempt(
  p_video_id uuid,
  p_start_grace interval,
  p_worker text,
  p_now timestamptz,
  p_token_hash bytea,
  p_lease interval
)
returns public.videos
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_video public.videos;
  v_opens_at timestamptz;
  v_closes_at timestamptz;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_start_grace is null or p_start_grace < interval '0' or p_start_grace > interval '1 day' then
    raise exception 'p_start_grace % is not an interval from 0 to 1 day.', coalesce(quote_literal(p_start_grace::text), 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass how long after its slot closes an upload may still start, e.g. ''5 minutes''.';
  end if;
  perform upload_scheduler_private.video_owner(p_video_id);

  select v.* into v_video from public.videos v where v.id = p_video_id;
  if v_video.status <> 'pending' then
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'pending', 'start_upload');
  end if;
  if p_now < v_video.claimed_at then
    raise exception 'p_now % is before video % was claimed (%).', p_now, p_video_id, v_video.claimed_at
      using errcode = 'UPARG',
            hint = 'An upload starts after its claim: pass the instant it really starts, or leave p_now out for now().';
  end if;

  -- The window of the place on its local date (end_time inclusive: it closes one second after).
  select min(w.opens_at), max(w.closes_at) into v_opens_at, v_closes_at
  from upload_scheduler.places p
  join public.users u on u.id = p.user_id
  cross join lateral upload_scheduler_private.slot_windows(
    u.time_zone, upload_scheduler_private.weekday_name(p.local_date::timestamp), p.start_time, p.end_time,
    (p.local_date - 1)::timestamp at time zone u.time_zone, (p.local_date + 2)::timestamp at time zone u.time_zone) w
  where p.video_id = p_video_id and p.released_at is null and w.local_date = p.local_date;

  if v_opens_at is not null and p_now < v_opens_at then
    raise exception 'p_now % is before the slot of video % opens (%).', p_now, p_video_id, v_opens_at
      using errcode = 'UPARG',
            hint = 'An upload starts inside its slot: pass the instant it really starts, or leave p_now out for now().';
  end if;

  -- No window (claimed into no slot), or it closed more than p_start_grace ago: back to the queue.
  if v_closes_at is null or p_now > v_closes_at + p_start_grace then
    insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, finished_at, outcome, error, worker)
    values (v_video.id, v_video.user_id, v_video.attempts + 1, v_video.slot_id, v_video.slot_date, v_video.claimed_at, p_now, 'late',
            case when v_closes_at is null then 'it was claimed into no slot that opens on its date'
                 else format('its slot closed at %s; the upload could start until %s', v_closes_at, v_closes_at + p_start_grace) end,
            p_worker);
    update public.videos v
    set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, last_outcome = 'late'
    where v.id = p_video_id and v.status = 'pending' and v.claimed_at <= p_now
    returning v.* into v_video;
    if not found then
      perform upload_scheduler_private.raise_wrong_status(p_video_id, 'pending', 'start_upload');
    end if;
    perform upload_scheduler_private.release_places(array[p_video_id], p_now);
    raise notice 'Video % was not started: %; it is back in the queue.', p_video_id,
      case when v_closes_at is null then 'it has no slot to start in'
           else format('its slot closed at %s (more than %s ago)', v_closes_at, p_start_grace) end;
    return v_video;
  end if;

  -- Guarded: still pending, and still claimed no later than p_now (another session may have
  -- given it back and claimed it again since it was read above).
  update public.videos v
  set status = 'uploading', started_at = p_now, attempts = v.attempts + 1, worker = p_worker
  where v.id = p_video_id and v.status = 'pending' and v.claimed_at <= p_now
  returning v.* into v_video;
  if not found then
    select v.* into v_video from public.videos v where v.id = p_video_id;
    if v_video.status = 'pending' and p_now < v_video.claimed_at then
      raise exception 'p_now % is before video % was claimed (%).', p_now, p_video_id, v_video.claimed_at
        using errcode = 'UPARG',
              hint = 'An upload starts after its claim: pass the instant it really starts, or leave p_now out for now().';
    end if;
    perform upload_scheduler_private.raise_wrong_status(p_video_id, 'pending', 'start_upload');
  end if;
  insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, started_at, worker,
                                      token_hash, lease_until, heartbeat_at, worker_host, worker_pid)
  values (v_video.id, v_video.user_id, v_video.attempts, v_video.slot_id, v_video.slot_date, v_video.claimed_at, p_now, p_worker,
          p_token_hash, now() + p_lease, case when p_lease is not null then now() end,
          nullif(substring(p_worker from '^(.*):[0-9]+$'), ''), substring(p_worker from ':([0-9]{1,9})$')::integer);
  return v_video;
end;
$$;


comment on function upload_scheduler_private.start_attempt(uuid, interval, text, timestamptz, bytea, interval) is
  E'Internal: pending -> uploading (or back to the queue when its window closed more than p_start_grace ago), opening the attempt''s row with the worker, its token''s hash and its lease (NULL for none). Use start_upload, start_upload_attempt or begin_attempt.';

create or replace function upload_scheduler.start_upload_attempt(
  p_video_id uuid,
  p_start_grace interval,
  p_worker text,
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
begin
  return upload_scheduler_private.start_attempt(p_video_id, p_start_grace, p_worker, p_now, null, null);
end;
$$;

comment on function upload_scheduler.start_upload_attempt(uuid, interval, text, timestamptz) is
  E'pending -> uploading for the worker p_worker (host:pid): counts the attempt (videos.attempts is its number) and opens its row in upload_attempts. When the window its place was taken in closed more than p_start_grace before p_now, the video goes back to the queue instead (returned as initiate, recorded as late). Raises UPSTS when the video is not pending.';

create or replace function upload_scheduler.start_upload(
  p_video_id uuid,
  p_now timestamptz default now()
)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return upload_scheduler.start_upload_attempt(p_video_id, interval '5 minutes', null, p_now);
end;
$$;

comment on function upload_scheduler.start_upload(uuid, timestamptz) is
  E'pending -> uploading: records started_at = p_now and counts the attempt (videos.attempts is its number). Up to 5 minutes after the slot closed; later, the video goes back to the queue and is returned as initiate. Raises UPSTS when the video is not pending (someone else started it, or it was reset).';
