-- The sweeps: claims never started, uploads whose worker is gone, failed videos to retry.
--
-- Writes at another instant. Every function stamps what it writes with its p_now, so a day can
-- be replayed from psql, and a sweep judges an age by its own p_now: one at an earlier p_now
-- never finds anything stamped after it old. A running upload is ended only when the database
-- clock agrees too (for a start in that clock's past): a what-if sweep at a later p_now never
-- fails an upload that is still going on. (A claim or a failure it recovers early only goes back
-- to the queue sooner.) A stamp later than both clocks by more than the sweep's interval comes
-- from nowhere (a write at a far p_now): the sweep recovers it at once, so no video waits for a
-- future that will not come.
--
-- Every sweep takes its videos with SKIP LOCKED, in id order: it never waits on a row another
-- session holds (a tenant's open transaction included), so it cannot deadlock with workers,
-- claims, schedule changes or other sweeps. Giving places back needs no lock a claim holds.

-- Whether an upload's start is older than p_age, by p_now and (for a start in the database
-- clock's past) by the database clock; or from nowhere (later than both by more than p_age).
create or replace function upload_scheduler_private.is_overdue(p_stamp timestamptz, p_age interval, p_now timestamptz)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (p_stamp < p_now - p_age and (p_stamp > now() or p_stamp < now() - p_age))
      or p_stamp > greatest(p_now, now()) + p_age;
end;
$$;

comment on function upload_scheduler_private.is_overdue(timestamptz, interval, timestamptz) is
  E'Internal: whether a stamp is older than p_age at p_now (and, when the stamp is in the database clock''s past, by the database clock too), or later than both clocks by more than p_age (a write at a far p_now). The sweeps'' rule for writes at another instant.';

create or replace function upload_scheduler.reset_stale_pending_videos(
  p_older_than interval default '30 minutes',
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
  perform upload_scheduler_private.check_interval(p_older_than, 'p_older_than', '30 minutes');

  v_ids := array(
    select v.id from public.videos v
    where v.status = 'pending'
      and (v.claimed_at < p_now - p_older_than or v.claimed_at > greatest(p_now, now()) + p_older_than)
    order by v.id
    for update skip locked);
  if cardinality(v_ids) = 0 then
    return 0;
  end if;

  insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, finished_at, outcome, error)
  select v.id, v.user_id, v.attempts + 1, v.slot_id, v.slot_date, least(v.claimed_at, p_now), p_now, 'stale',
         case when v.claimed_at > p_now then format('claimed at %s, later than now (%s)', v.claimed_at, p_now)
              else format('claimed at %s and not started within %s', v.claimed_at, p_older_than) end
  from unnest(v_ids) as x (id)
  join public.videos v on v.id = x.id;

  update public.videos v
  set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, last_outcome = 'stale'
  from unnest(v_ids) as x (id)
  where v.id = x.id;
  perform upload_scheduler_private.release_places(v_ids, p_now);
  return cardinality(v_ids);
end;
$$;

comment on function upload_scheduler.reset_stale_pending_videos(interval, timestamptz) is
  E'Puts videos pending (claimed, never started) for longer than p_older_than at p_now back to initiate, giving their place in the slot back, and records a stale attempt; a claim stamped later than both p_now and the database clock by more than p_older_than goes back at once. Returns how many.';

-- Ends these uploading videos' running attempts as interrupted: the outcome is unknown (the
-- upload may have completed), so the video fails and the retry policy, with the destination's
-- reconcile, decides. (A start from nowhere is brought back to now: its retry's cool-down counts
-- from now.)
create or replace function upload_scheduler_private.interrupt(p_video_ids uuid[], p_now timestamptz, p_why text)
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_moved uuid[];
begin
  if cardinality(p_video_ids) = 0 then
    return 0;
  end if;
  update public.upload_attempts a
  set claimed_at = least(a.claimed_at, p_now), started_at = least(a.started_at, p_now), finished_at = p_now,
      outcome = 'interrupted',
      error = format('upload interrupted; outcome unknown (started %s, %s)', a.started_at,
                     case when a.lease_until < now() and p_why is null then format('its worker''s lease ran out at %s', a.lease_until)
                          else coalesce(p_why, 'no result in time') end)
  from unnest(p_video_ids) as x (id)
  join public.videos v on v.id = x.id
  where a.video_id = v.id and a.attempt = v.attempts and a.started_at is not null and a.outcome is null;

  -- Only the videos still uploading: one that ended meanwhile (its worker's outcome committed
  -- between the caller's read and its lock) keeps its place.
  with moved as (
    update public.videos v
    set status = 'failed',
        claimed_at = least(v.claimed_at, p_now),
        started_at = least(v.started_at, p_now),
        finished_at = p_now,
        last_outcome = 'interrupted',
        last_error = (select a.error from public.upload_attempts a
                      where a.video_id = v.id and a.attempt = v.attempts and a.started_at is not null)
    from unnest(p_video_ids) as x (id)
    where v.id = x.id and v.status = 'uploading'
    returning v.id
  )
  select array_agg(m.id) into v_moved from moved m;
  perform upload_scheduler_private.release_places(coalesce(v_moved, '{}'), p_now);
  return coalesce(cardinality(v_moved), 0);
end;
$$;

comment on function upload_scheduler_private.interrupt(uuid[], timestamptz, text) is
  E'Internal: fails these uploading videos as interrupted (outcome unknown), closing their running attempts and giving their places back.';

-- A running attempt is over when its lease has passed on the database's clock (a worker's
-- attempt: begin_attempt), or, without a lease (start_upload), when it is older than p_older_than.
create or replace function upload_scheduler.fail_interrupted_uploads(
  p_older_than interval default '35 minutes',
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
  perform upload_scheduler_private.check_interval(p_older_than, 'p_older_than', '35 minutes', interval '5 seconds');

  v_ids := array(
    select x.id from (
      -- Leased: its lease has passed.
      select v.id
      from public.upload_attempts a
      join public.videos v on v.id = a.video_id and v.status = 'uploading' and v.attempts = a.attempt
      where a.outcome is null and a.lease_until < now()
      union
      -- Not leased: older than p_older_than (by p_now, and by the database's clock too).
      select v.id
      from public.videos v
      where v.status = 'uploading'
        and (v.started_at < p_now - p_older_than or v.started_at > least(p_now, now()) + p_older_than)
        and upload_scheduler_private.is_overdue(v.started_at, p_older_than, p_now)
        and not exists (select 1 from public.upload_attempts a
                        where a.video_id = v.id and a.attempt = v.attempts and a.lease_until is not null)
    ) x
    -- Checked again on the locked row: an upload whose outcome committed meanwhile is not taken.
    join public.videos v on v.id = x.id and v.status = 'uploading'
    order by v.id
    for update of v skip locked);
  return upload_scheduler_private.interrupt(v_ids, p_now, null);
end;
$$;

comment on function upload_scheduler.fail_interrupted_uploads(interval, timestamptz) is
  E'Fails as interrupted ("upload interrupted; outcome unknown", the attempt closed, the place given back; the retry policy then decides) the uploads whose lease has passed on the database''s clock (a worker''s attempt), and those without a lease (start_upload) running longer than p_older_than (at least 5 seconds), judged by p_now and, for a start in the database clock''s past, by the database clock too. Returns how many.';

create or replace function upload_scheduler.retry_failed_videos(
  p_cool_down interval default '30 minutes',
  p_max_attempts integer default 3,
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
  perform upload_scheduler_private.check_interval(p_cool_down, 'p_cool_down', '30 minutes');
  perform upload_scheduler_private.check_max_attempts(p_max_attempts);

  -- Nothing is counted against a slot here (failed videos gave their place back). A failure
  -- stamped later than both clocks by more than the cool-down is retried at once.
  v_ids := array(
    select v.id from public.videos v
    where v.status = 'failed' and v.attempts - v.free_attempts < p_max_attempts
      and coalesce(v.last_outcome, '') not in ('permanent', 'withdrawn')
      and (v.finished_at <= p_now - p_cool_down or v.finished_at > greatest(p_now, now()) + p_cool_down)
    order by v.id
    for update skip locked);
  if cardinality(v_ids) = 0 then
    return 0;
  end if;
  update public.videos v
  set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, started_at = null, finished_at = null
  from unnest(v_ids) as x (id)
  where v.id = x.id;
  perform upload_scheduler_private.mark_arrivals(array(select v.user_id from public.videos v join unnest(v_ids) as x (id) on x.id = v.id));
  return cardinality(v_ids);
end;
$$;

comment on function upload_scheduler.retry_failed_videos(interval, integer, timestamptz) is
  E'Puts failed videos back to initiate once p_cool_down has passed since they failed (or at once, when they failed later than both p_now and the database clock by more than that), while they have had fewer than p_max_attempts attempts; last_error is kept. Returns how many.';

create or replace function upload_scheduler.retry_video(p_video_id uuid)
returns public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
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
  perform upload_scheduler_private.mark_arrivals(array[v_video.user_id]);
  return v_video;
end;
$$;

comment on function upload_scheduler.retry_video(uuid) is
  E'failed -> initiate now, whatever its attempts: the video waits for the next open slot. last_error and attempts are kept.';
