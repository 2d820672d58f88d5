-- What the runner's schedule_uploads task calls once a minute. Recovery, claim and the
-- enqueueing of one upload job per claimed video happen in one transaction, so a crash
-- can never leave a claimed video without its job. Needs Graphile Worker's schema
-- (installed by the runner); the rest of the API does not.
create or replace function upload_scheduler.run_tick(
  p_stale_after interval default '30 minutes',
  p_retry_after interval default '30 minutes',
  p_max_attempts integer default 3,
  p_interrupted_after interval default '35 minutes',
  p_limit integer default null,
  p_now timestamptz default now()
)
returns table (interrupted integer, retried integer, stale_reset integer, claimed jsonb)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
-- (see claim_due_videos)
set jit = off
as $$
declare
  v_started timestamptz := clock_timestamp();
  v_interrupted integer;
  v_retried integer;
  v_stale integer;
  v_claimed jsonb;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.check_interval(p_stale_after, 'p_stale_after', '30 minutes');
  perform upload_scheduler_private.check_interval(p_retry_after, 'p_retry_after', '30 minutes');
  perform upload_scheduler_private.check_interval(p_interrupted_after, 'p_interrupted_after', '35 minutes', interval '5 seconds');
  -- Ticks need no lock of their own: each sweep and the claim take their rows with SKIP LOCKED,
  -- so two ticks at once split the work (and no other role can hold a tick up).
  v_interrupted := upload_scheduler.fail_interrupted_uploads(p_interrupted_after, p_now);
  v_retried := upload_scheduler.retry_failed_videos(p_retry_after, p_max_attempts, p_now);
  v_stale := upload_scheduler.reset_stale_pending_videos(p_stale_after, p_now);

  select coalesce(jsonb_agg(jsonb_build_object(
           'video_id', c.id, 'user_id', c.user_id, 'slot_id', c.slot_id, 'slot_date', c.slot_date,
           'attempt', c.attempts + 1) order by c.queue_priority desc, c.created_at, c.id), '[]')
    into v_claimed
  from upload_scheduler.claim_due_videos(p_now, p_limit) c;

  -- Graphile Worker takes jobs by run_at: a microsecond apart, the oldest video's upload starts first.
  -- run_at is the real clock (now()), not p_now: jobs are for the worker running today.
  -- max_attempts 1: retries are the scheduler's policy (retry_failed_videos), not the queue's.
  if jsonb_array_length(v_claimed) > 0 then
    perform graphile_worker.add_jobs(array(
      select row('upload_video', json_build_object('video_id', x->>'video_id'), null,
                 now() + x.n * interval '1 microsecond', 1, null, null, null)::graphile_worker.job_spec
      from jsonb_array_elements(v_claimed) with ordinality as x (x, n)
      order by x.n));
  end if;

  -- On record, for health() and the worker's /readyz; a day of ticks is kept.
  insert into upload_scheduler.ticks (at, finished_at, duration_ms, claimed, interrupted, retried, stale_reset)
  values (p_now, clock_timestamp(), extract(epoch from clock_timestamp() - v_started) * 1000,
          jsonb_array_length(v_claimed), v_interrupted, v_retried, v_stale);
  delete from upload_scheduler.ticks t where t.at < p_now - interval '1 day';

  return query select v_interrupted, v_retried, v_stale, v_claimed;
end;
$$;

comment on function upload_scheduler.run_tick(interval, interval, integer, interval, integer, timestamptz) is
  E'One whole scheduler tick, as the worker runs it every minute: fail interrupted uploads, retry failed videos past their cool-down, reset stale pending ones, claim the due videos and enqueue one upload_video job each, all in one transaction (one tick at a time); records itself in upload_scheduler.ticks.';
