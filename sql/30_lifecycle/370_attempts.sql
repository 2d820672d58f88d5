-- A worker's attempt, exactly once at the destination.
--
-- begin_attempt starts it with a lease on the database's clock and a token (the worker keeps the
-- token; the database keeps its sha256). The worker renews the lease every HEARTBEAT_EVERY
-- (renew_lease, which also records the bytes sent) and, right before its irreversible step (the
-- last chunk, the publish), fences: renew_lease again, which fails once the lease has passed, so
-- an attempt swept as interrupted can never complete at the destination afterwards. It keeps its
-- resumable state with save_checkpoint, and ends with end_attempt, which only that attempt's
-- token can do. A lease that passes (the worker died, paused, lost its network) is ended as
-- interrupted by the next sweep, whatever UPLOAD_TIMEOUT is.

-- The attempt p_token proves, still running: its row, or the error saying why not.
create or replace function upload_scheduler_private.running_attempt(
  p_video_id uuid,
  p_attempt integer,
  p_token uuid,
  p_need_lease boolean
)
returns public.upload_attempts
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row public.upload_attempts;
begin
  if p_token is null then
    raise exception 'No token for attempt % of video %.', p_attempt, p_video_id
      using errcode = 'UPTOK',
            hint = 'Pass the token begin_attempt returned for this attempt.';
  end if;
  select a.* into v_row from public.upload_attempts a
  where a.video_id = p_video_id and a.attempt = p_attempt and a.started_at is not null
  for update;
  if not found or v_row.token_hash is distinct from sha256(convert_to(p_token::text, 'UTF8')) then
    raise exception 'Attempt % of video % is not the attempt this token was given for.', p_attempt, p_video_id
      using errcode = 'UPTOK',
            detail = 'Only the worker that started an attempt (begin_attempt) can renew, checkpoint or end it.',
            hint = 'Pass the video, attempt and token begin_attempt returned.';
  end if;
  if v_row.outcome is not null then
    raise exception 'Attempt % of video % is not running: it ended as % at %.', p_attempt, p_video_id, v_row.outcome, v_row.finished_at
      using errcode = 'UPSUP',
            hint = 'Stop this upload: another attempt, or the queue, has the video now.';
  end if;
  if p_need_lease and v_row.lease_until < now() then
    raise exception 'The lease of attempt % of video % ran out at % (it is % now).', p_attempt, p_video_id, v_row.lease_until, now()
      using errcode = 'UPLSE',
            detail = 'An attempt whose lease has passed may be swept as interrupted and retried at any moment: it cannot be renewed.',
            hint = 'Stop this upload without its irreversible step; the video will be retried (and reconciled).';
  end if;
  return v_row;
end;
$$;

comment on function upload_scheduler_private.running_attempt(uuid, integer, uuid, boolean) is
  E'Internal: locks and returns the row of a running attempt that p_token proves (UPTOK otherwise), raising UPSUP once it has ended and, when p_need_lease, UPLSE once its lease has passed.';

create or replace function upload_scheduler_private.check_lease(p_lease interval)
returns interval
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_lease is null or p_lease < interval '1 second' or p_lease > interval '1 day' then
    raise exception 'p_lease % is not an interval from 1 second to 1 day.', coalesce(quote_literal(p_lease::text), 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass LEASE, e.g. ''1 minute'' (several times HEARTBEAT_EVERY).';
  end if;
  return p_lease;
end;
$$;

comment on function upload_scheduler_private.check_lease(interval) is E'Returns p_lease; raises UPARG unless it lies from 1 second to 1 day.';

-- A worker's name, as the attempts and upload_scheduler.workers record it: host:pid.
create or replace function upload_scheduler_private.check_worker_name(p_worker text, p_max_length integer default null)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_worker is null or p_worker !~ '^.+:[0-9]{1,9}$' or length(p_worker) > p_max_length then
    raise exception 'p_worker % is not a worker''s name (host:pid).', coalesce(quote_literal(left(p_worker, 100)), 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass the worker''s host and process id, e.g. ''web-1:4242''.';
  end if;
  return p_worker;
end;
$$;

comment on function upload_scheduler_private.check_worker_name(text, integer) is
  E'Returns p_worker; raises UPARG unless it is a worker''s name, host:pid (and, when p_max_length is given, no longer than that).';

-- pending -> uploading for a worker: the attempt, its token (to keep) and its lease. The worker
-- may choose the token: asking again with the same one after the answer was lost returns the
-- attempt that began, instead of refusing it as already uploading.
drop function if exists upload_scheduler.begin_attempt(uuid, text, interval, interval, timestamptz);
create or replace function upload_scheduler.begin_attempt(
  p_video_id uuid,
  p_worker text,
  p_lease interval default '1 minute',
  p_start_grace interval default '5 minutes',
  p_now timestamptz default now(),
  p_token uuid default null
)
returns table (video public.videos, attempt integer, token uuid, lease_until timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  v_token uuid := coalesce(p_token, gen_random_uuid());
  v_video public.videos;
  v_until timestamptz;
begin
  perform upload_scheduler_private.check_lease(p_lease);
  perform upload_scheduler_private.check_worker_name(p_worker);
  if p_token is not null then
    -- Asked again after a lost answer: the attempt this token began, while it runs.
    select v.* into v_video from public.videos v
    join public.upload_attempts a on a.video_id = v.id and a.attempt = v.attempts
    where v.id = p_video_id and v.status = 'uploading' and a.outcome is null
      and a.token_hash = sha256(convert_to(p_token::text, 'UTF8'));
    if found then
      update public.upload_attempts a set lease_until = now() + p_lease, heartbeat_at = now()
      where a.video_id = p_video_id and a.attempt = v_video.attempts and a.lease_until >= now()
      returning a.lease_until into v_until;
      if v_until is not null then
        return query select v_video, v_video.attempts, v_token, v_until;
        return;
      end if;
    end if;
  end if;
  v_video := upload_scheduler_private.start_attempt(p_video_id, p_start_grace, p_worker, p_now,
                                                     sha256(convert_to(v_token::text, 'UTF8')), p_lease);
  if v_video.status <> 'uploading' then
    -- Given back to the queue (its window closed): no attempt to run.
    return query select v_video, null::integer, null::uuid, null::timestamptz;
    return;
  end if;
  return query select v_video, v_video.attempts, v_token, now() + p_lease;
end;
$$;

comment on function upload_scheduler.begin_attempt(uuid, text, interval, interval, timestamptz, uuid) is
  E'pending -> uploading for worker p_worker (host:pid): the attempt''s number, a token that only this worker holds (renew_lease, save_checkpoint and end_attempt need it; pass p_token to choose it, gen_random_uuid() otherwise) and its lease until now() + p_lease on the database''s clock. Called again with the same p_token after its answer was lost, it returns the attempt that began (while its lease holds) instead of raising UPSTS. When the slot closed more than p_start_grace ago, the video goes back to the queue instead and attempt and token are NULL.';

-- The heartbeat, and the fence: extends the lease from now, records the bytes sent, and fails
-- (UPLSE) once the lease has passed. Liveness is the database's clock: no p_now.
create or replace function upload_scheduler.renew_lease(
  p_video_id uuid,
  p_attempt integer,
  p_token uuid,
  p_lease interval default '1 minute',
  p_bytes_sent bigint default null,
  p_bytes_total bigint default null
)
returns timestamptz
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  v_until timestamptz := now() + upload_scheduler_private.check_lease(p_lease);
begin
  perform upload_scheduler_private.running_attempt(p_video_id, p_attempt, p_token, true);
  update public.upload_attempts a
  set lease_until = v_until, heartbeat_at = now(),
      bytes_sent = coalesce(p_bytes_sent, a.bytes_sent), bytes_total = coalesce(p_bytes_total, a.bytes_total)
  where a.video_id = p_video_id and a.attempt = p_attempt;
  if p_bytes_sent is not null or p_bytes_total is not null then
    update public.videos v
    set bytes_sent = coalesce(p_bytes_sent, v.bytes_sent), bytes_total = coalesce(p_bytes_total, v.bytes_total)
    where v.id = p_video_id and v.status = 'uploading' and v.attempts = p_attempt;
  end if;
  return v_until;
end;
$$;

comment on function upload_scheduler.renew_lease(uuid, integer, uuid, interval, bigint, bigint) is
  E'A running attempt''s heartbeat and fence: extends its lease to now() + p_lease (the database''s clock) and records the bytes sent, for the worker holding p_token. Raises UPLSE once the lease has passed (the attempt may be swept and retried: stop, do not complete), UPSUP once it has ended, UPTOK for another token.';

-- The resumable state of the video's upload (a session URL, an offset, a platform id), kept
-- across attempts and workers: the next attempt gets it as context.resume.
create or replace function upload_scheduler.save_checkpoint(
  p_video_id uuid,
  p_attempt integer,
  p_token uuid,
  p_state jsonb
)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
begin
  perform upload_scheduler_private.running_attempt(p_video_id, p_attempt, p_token, true);
  update public.videos v set resume_state = p_state
  where v.id = p_video_id and v.status = 'uploading' and v.attempts = p_attempt;
end;
$$;

comment on function upload_scheduler.save_checkpoint(uuid, integer, uuid, jsonb) is
  E'Keeps the destination''s resumable state of the video (at most 64 kB of JSON) for the running attempt p_token proves (UPLSE once its lease has passed); the next attempt, on any worker, reads it from videos.resume_state.';

-- An attempt that ended in doubt (the sweep called it interrupted, or it timed out) did upload
-- after all: its video is uploaded in the slot and on the day of that attempt, taking back the
-- place its claim took (any place a later claim of the video took is given back). The caller
-- records the attempt's outcome.
create or replace function upload_scheduler_private.uploaded_after_all(
  p_attempt public.upload_attempts,
  p_remote_id text,
  p_remote_url text,
  p_now timestamptz
)
returns public.videos
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_video public.videos;
begin
  perform upload_scheduler_private.release_places(array[p_attempt.video_id], p_now);
  update upload_scheduler.places p set released_at = null
  where p.id = (select q.id from upload_scheduler.places q
                where q.video_id = p_attempt.video_id and q.taken_at = p_attempt.claimed_at order by q.id desc limit 1);
  update public.videos v
  set status = 'success', slot_id = p_attempt.slot_id, slot_date = p_attempt.local_date,
      claimed_at = p_attempt.claimed_at, started_at = p_attempt.started_at, finished_at = greatest(p_now, p_attempt.started_at),
      last_outcome = 'success', last_error = null, resume_state = null,
      remote_id = left(p_remote_id, 500), remote_url = left(p_remote_url, 2000)
  where v.id = p_attempt.video_id
  returning v.* into v_video;
  return v_video;
end;
$$;

comment on function upload_scheduler_private.uploaded_after_all(public.upload_attempts, text, text, timestamptz) is
  E'Internal: the video of an attempt that ended in doubt is uploaded after all (end_attempt''s known success after an interruption, reconcile by hand): success in that attempt''s slot and day, its place taken back, with the platform''s id and link. The caller records the attempt.';

-- Ends an attempt with what the worker knows. The outcome of the attempt's own token wins over a
-- sweep that called it interrupted meanwhile, as long as no later attempt has started.
--   success                           the video is uploaded (p_result: what the destination answered)
--   failed, timed_out, aborted        a transient failure: retried after the cool-down, counted
--   retry_later (p_retry_at)          the destination said wait: back to the queue, not counted, and
--                                     the user's claims held until p_retry_at
--   needs_reconnect                   credentials to renew: back to the queue, not counted, and the
--                                     user paused until resume_uploads
--   permanent                         failed, never retried (an invalid title, say)
--   unknown (p_retry_at)              the outcome of an earlier attempt could not be reconciled: back
--                                     to the queue, not counted, not before p_retry_at
create or replace function upload_scheduler.end_attempt(
  p_video_id uuid,
  p_attempt integer,
  p_token uuid,
  p_outcome text,
  p_error text default null,
  p_result jsonb default null,
  p_retry_at timestamptz default null,
  p_now timestamptz default now()
)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  v_row public.upload_attempts;
  v_video public.videos;
  v_error text;
  v_status text;
  v_requeue boolean := p_outcome in ('retry_later', 'needs_reconnect', 'unknown');
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_outcome is null or p_outcome not in ('success', 'failed', 'timed_out', 'aborted', 'retry_later', 'needs_reconnect', 'permanent', 'unknown') then
    raise exception 'Unknown outcome % for video %.', coalesce(quote_literal(p_outcome), 'NULL'), p_video_id
      using errcode = 'UPARG',
            hint = 'An attempt ends as success, failed, timed_out, aborted, retry_later, needs_reconnect, permanent or unknown.';
  end if;
  if p_outcome in ('retry_later', 'unknown') and (p_retry_at is null or not isfinite(p_retry_at)) then
    raise exception 'p_retry_at is % for outcome %.', coalesce(p_retry_at::text, 'NULL'), p_outcome
      using errcode = 'UPARG',
            hint = 'Pass when to try again, e.g. the time the platform said (Retry-After).';
  end if;
  v_error := case when p_outcome = 'success' then null
                  else left(coalesce(nullif(p_error, ''), case p_outcome
                         when 'timed_out' then 'upload timed out'
                         when 'aborted' then 'upload aborted'
                         else 'upload failed (no error message given)' end), 10000) end;

  -- The attempt this token proves: running, or swept as interrupted with no later attempt since.
  begin
    v_row := upload_scheduler_private.running_attempt(p_video_id, p_attempt, p_token, false);
  exception when sqlstate 'UPSUP' then
    select a.* into v_row from public.upload_attempts a where a.video_id = p_video_id and a.attempt = p_attempt;
    if v_row.outcome = p_outcome then
      -- The same outcome again (a lost acknowledgement, retried): nothing to do.
      select v.* into v_video from public.videos v where v.id = p_video_id;
      return v_video;
    end if;
    if v_row.outcome is distinct from 'interrupted' or exists (
         select 1 from public.videos v where v.id = p_video_id and (v.attempts > p_attempt or v.status = 'uploading')) then
      raise;
    end if;
  end;
  if p_now < v_row.started_at then
    raise exception 'p_now % is before attempt % of video % started (%).', p_now, p_attempt, p_video_id, v_row.started_at
      using errcode = 'UPARG',
            hint = 'Pass the instant the upload ended, or leave p_now out for now().';
  end if;

  if v_row.outcome = 'interrupted' then
    -- The sweep called it interrupted; the worker knows better. A known success takes its place
    -- back (the one its claim took; any new claim of the video is given back), a known failure
    -- only corrects the record, unless it is permanent.
    if p_outcome = 'success' then
      v_video := upload_scheduler_private.uploaded_after_all(v_row, p_result->>'remoteId', p_result->>'remoteUrl', p_now);
    elsif p_outcome = 'permanent' then
      perform upload_scheduler_private.release_places(array[p_video_id], p_now);
      update public.videos v
      set status = 'failed', slot_id = null, slot_date = null, claimed_at = least(v.claimed_at, p_now),
          started_at = least(coalesce(v.started_at, v_row.started_at), p_now), finished_at = p_now,
          last_outcome = 'permanent', last_error = v_error
      where v.id = p_video_id
      returning v.* into v_video;
    else
      update public.videos v set last_error = v_error
      where v.id = p_video_id and v.status = 'failed' and v.last_outcome = 'interrupted'
      returning v.* into v_video;
      if not found then
        select v.* into v_video from public.videos v where v.id = p_video_id;
      end if;
    end if;
    update public.upload_attempts a set outcome = p_outcome, error = v_error, result = p_result, finished_at = greatest(p_now, a.started_at)
    where a.id = v_row.id;
    return v_video;
  end if;

  v_status := case when p_outcome = 'success' then 'success' when v_requeue then 'initiate' else 'failed' end;
  update public.videos v
  set status = v_status,
      slot_id = case when v_requeue then null else v.slot_id end,
      slot_date = case when v_requeue then null else v.slot_date end,
      claimed_at = case when v_requeue then null else v.claimed_at end,
      started_at = case when v_requeue then null else v.started_at end,
      finished_at = case when v_requeue then null else p_now end,
      free_attempts = v.free_attempts + case when v_requeue then 1 else 0 end,
      not_before = case when p_outcome = 'unknown' then greatest(v.not_before, p_retry_at) else v.not_before end,
      last_outcome = p_outcome,
      last_error = v_error,
      resume_state = case when p_outcome = 'success' then null else v.resume_state end,
      remote_id = case when p_outcome = 'success' then left(p_result->>'remoteId', 500) else v.remote_id end,
      remote_url = case when p_outcome = 'success' then left(p_result->>'remoteUrl', 2000) else v.remote_url end
  where v.id = p_video_id and v.status = 'uploading' and v.attempts = p_attempt
  returning v.* into v_video;
  if not found then
    raise exception 'Video % is not uploading attempt % any more.', p_video_id, p_attempt
      using errcode = 'UPSUP',
            hint = 'Only the attempt that is uploading can record its outcome, once.';
  end if;
  update public.upload_attempts a
  set finished_at = p_now, outcome = p_outcome, error = v_error, result = p_result
  where a.id = v_row.id;
  if p_outcome <> 'success' then
    perform upload_scheduler_private.release_places(array[p_video_id], p_now);
  end if;
  if p_outcome = 'retry_later' then
    update public.users u
    set held_until = greatest(u.held_until, least(p_retry_at, timestamptz '2199-12-31Z')), hold_reason = left(v_error, 500)
    where u.id = v_video.user_id;
  elsif p_outcome = 'needs_reconnect' then
    update public.users u
    set uploads_paused_until = 'infinity', pause_reason = left('needs reconnect: ' || v_error, 500)
    where u.id = v_video.user_id;
  end if;
  return v_video;
end;
$$;

comment on function upload_scheduler.end_attempt(uuid, integer, uuid, text, text, jsonb, timestamptz, timestamptz) is
  E'Ends attempt p_attempt of a video for the worker holding p_token (UPTOK otherwise): success (keeping p_result''s remoteId and remoteUrl), failed, timed_out, aborted (retried, counted), retry_later (back to the queue, not counted, its user held until p_retry_at), needs_reconnect (back to the queue, not counted, its user paused), permanent (never retried) or unknown (back to the queue, not counted, not before p_retry_at). A known outcome wins over a sweep that called the attempt interrupted, while no later attempt has started. Repeating the recorded outcome returns quietly.';

-- Reconciling by hand: a person looked at the platform for a video whose last upload's outcome is
-- in doubt (its attempt ended interrupted, timed_out or aborted, or the plug-in's reconcile could
-- not tell: unknown), and says what they found, as the plug-in's reconcile would:
--   done      the platform has it: the video is uploaded, in the slot and on the day of the attempt
--             that ran (that attempt's place is taken back, as a known success after an
--             interruption takes it), with the platform's id and link if given;
--   not done  it does not: the video goes back to the queue now, and its next attempt uploads
--             without asking the plug-in's reconcile first (a not_before an unknown outcome set
--             is lifted).
create or replace function upload_scheduler.reconcile(
  p_video_id uuid,
  p_done boolean,
  p_remote_id text default null,
  p_remote_url text default null,
  p_now timestamptz default now()
)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '5s'
as $$
declare
  v_video public.videos;
  v_row public.upload_attempts;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_done is null then
    raise exception 'p_done is NULL.'
      using errcode = 'UPARG',
            hint = 'Pass true when the platform has the video (with p_remote_id and p_remote_url if you know them), false when it does not (it is uploaded again).';
  end if;
  if not p_done and (p_remote_id is not null or p_remote_url is not null) then
    raise exception 'p_remote_id or p_remote_url given for a video the platform does not have.'
      using errcode = 'UPARG',
            hint = 'Give the platform''s id and link only with p_done => true.';
  end if;
  perform upload_scheduler_private.video_owner(p_video_id);
  select v.* into v_video from public.videos v where v.id = p_video_id for update;
  if v_video.status not in ('failed', 'initiate')
     or v_video.last_outcome is null or v_video.last_outcome not in ('interrupted', 'timed_out', 'aborted', 'unknown') then
    raise exception 'Video % is % (last outcome %): no upload of it is in doubt.', p_video_id, v_video.status, coalesce(v_video.last_outcome, 'none')
      using errcode = 'UPSTS',
            hint = 'reconcile settles a video that waits or failed after an upload that ended interrupted, timed_out, aborted or unknown; its attempts are in public.upload_attempts. To upload a failed video again, call retry_video.';
  end if;

  if p_done then
    -- The attempt whose upload ran last (attempts that only asked the plug-in end as unknown).
    select a.* into v_row
    from public.upload_attempts a
    where a.video_id = p_video_id and a.started_at is not null and a.outcome in ('interrupted', 'timed_out', 'aborted')
    order by a.attempt desc
    limit 1;
    if not found then
      raise exception 'Video % has no upload that ended interrupted, timed_out or aborted.', p_video_id
        using errcode = 'UPSTS',
              hint = 'Only an upload that ran can have reached the platform: see public.upload_attempts.';
    end if;
    v_video := upload_scheduler_private.uploaded_after_all(v_row, p_remote_id, p_remote_url, p_now);
    update public.upload_attempts a
    set outcome = 'success', error = null,
        result = jsonb_build_object('remoteId', p_remote_id, 'remoteUrl', p_remote_url, 'reconciledBy', session_user::text),
        finished_at = coalesce(a.finished_at, greatest(p_now, a.started_at))
    where a.id = v_row.id;
  else
    update public.videos v
    set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, started_at = null, finished_at = null,
        not_before = case when v.last_outcome = 'unknown' then null else v.not_before end,
        last_outcome = 'failed',
        last_error = left(format('reconciled by %s: the platform does not have it (%s)', session_user, v.last_error), 10000)
    where v.id = p_video_id
    returning v.* into v_video;
  end if;
  perform upload_scheduler_private.mark_arrivals(array[v_video.user_id]);
  return v_video;
end;
$$;

comment on function upload_scheduler.reconcile(uuid, boolean, text, text, timestamptz) is
  E'Settles by hand a video whose last upload''s outcome is in doubt (last_outcome interrupted, timed_out, aborted or unknown; status failed or initiate), as a plug-in''s reconcile would: p_done => true, the platform has it: success, in the slot of the attempt that ran (its place taken back), with p_remote_id and p_remote_url; p_done => false, it does not: back to the queue now, and the next attempt uploads without reconciling first. UPSTS when nothing is in doubt.';

-- A worker starting on a host ends at once, as interrupted, the attempts of its processes there
-- that no longer run (it checked them): no need to wait for their leases.
create or replace function upload_scheduler.interrupt_dead_workers(
  p_host text,
  p_dead_pids integer[],
  p_now timestamptz default now()
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ids uuid[];
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  v_ids := array(
    select v.id
    from public.upload_attempts a
    join unnest(p_dead_pids) as x (pid) on a.worker_pid = x.pid
    join public.videos v on v.id = a.video_id and v.status = 'uploading' and v.attempts = a.attempt
    where a.worker_host = p_host and a.outcome is null
    order by v.id
    for update of v skip locked);
  return upload_scheduler_private.interrupt(v_ids, p_now, 'its worker''s process is gone');
end;
$$;

comment on function upload_scheduler.interrupt_dead_workers(text, integer[], timestamptz) is
  E'Ends as interrupted (outcome unknown, then retried and reconciled) the running attempts of the given processes of host p_host, which the caller found gone; returns how many.';

-- The processes of a host that have attempts running: a worker starting there checks which are gone.
create or replace function upload_scheduler.running_attempt_pids(p_host text)
returns integer[]
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(array_agg(distinct a.worker_pid order by a.worker_pid), '{}')
  from public.upload_attempts a
  where a.worker_host = p_host and a.outcome is null and a.worker_pid is not null;
$$;

comment on function upload_scheduler.running_attempt_pids(text) is
  E'The process ids of host p_host that have an attempt running (upload_attempts.outcome is NULL): a worker starting on that host passes those it finds gone to interrupt_dead_workers.';

-- What a worker reports of itself every minute: its clock against the database's.
create or replace function upload_scheduler.worker_seen(
  p_worker text,
  p_clock_skew_ms double precision,
  p_runs_crontab boolean,
  p_note text default null
)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.check_worker_name(p_worker, 200);
  insert into upload_scheduler.workers as w (id, host, pid, started_at, seen_at, clock_skew_ms, runs_crontab, note)
  values (p_worker, substring(p_worker from '^(.*):[0-9]+$'), substring(p_worker from ':([0-9]+)$')::integer, now(), now(),
          coalesce(p_clock_skew_ms, 0), coalesce(p_runs_crontab, false), left(p_note, 500))
  on conflict (id) do update
    set seen_at = now(), clock_skew_ms = excluded.clock_skew_ms, runs_crontab = excluded.runs_crontab, note = excluded.note;
  delete from upload_scheduler.workers w where w.seen_at < now() - interval '1 day';
end;
$$;

comment on function upload_scheduler.worker_seen(text, double precision, boolean, text) is
  E'A worker reports itself (every minute): its clock''s difference from the database''s in ms, whether it runs the crontab, and a note. health() and the dashboard read upload_scheduler.workers.';

-- A worker whose clock ran ahead may have stamped the crontab's last run in the future, so the
-- others would schedule no tick until then: a worker whose clock is right brings it back.
create or replace function upload_scheduler.heal_crontab(p_max_skew interval default '30 seconds')
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer;
begin
  if to_regclass('graphile_worker._private_known_crontabs') is null then
    return 0;
  end if;
  execute 'update graphile_worker._private_known_crontabs set last_execution = now() where last_execution > now() + $1'
    using p_max_skew;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

comment on function upload_scheduler.heal_crontab(interval) is
  E'Brings back to now() the crontab''s last run that a worker with a fast clock stamped more than p_max_skew ahead, so that the other workers schedule ticks again; returns how many it mended.';
