-- How the scheduler is doing, in one row, from what the database knows: its own tick log and
-- the videos' partial indexes (each count reads one small index, never the uploads of the past).
-- (Its columns grew with the platforms' limits: users_limited, limited_until.)
drop function if exists upload_scheduler.health(interval, integer, timestamptz);
create or replace function upload_scheduler.health(
  p_interrupted_after interval default '35 minutes',
  p_max_attempts integer default 3,
  p_now timestamptz default now()
)
returns table (
  last_tick_at timestamptz,
  last_tick_age interval,
  last_tick_claimed integer,
  last_tick_duration_ms double precision,
  ticks_last_hour integer,
  waiting integer,
  pending integer,
  uploading integer,
  failed_retryable integer,
  failed_for_good integer,
  oldest_waiting_age interval,
  overdue_uploads integer,
  leases_run_out integer,
  unknown_outcomes integer,
  users_held integer,
  users_paused integer,
  workers_seen integer,
  workers_skewed integer,
  max_clock_skew_ms double precision,
  users_limited integer,
  limited_until timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.check_interval(p_interrupted_after, 'p_interrupted_after', '35 minutes');
  perform upload_scheduler_private.check_max_attempts(p_max_attempts);
  return query
  select t.at, p_now - t.at, t.claimed, t.duration_ms,
         (select count(*)::int from upload_scheduler.ticks h where h.at > p_now - interval '1 hour' and h.at <= p_now),
         (select count(*)::int from public.videos v where v.status = 'initiate'),
         (select count(*)::int from public.videos v where v.status = 'pending'),
         (select count(*)::int from public.videos v where v.status = 'uploading'),
         (select count(*)::int from public.videos v
          where v.status = 'failed' and v.attempts - v.free_attempts < p_max_attempts
            and coalesce(v.last_outcome, '') not in ('permanent', 'withdrawn')),
         (select count(*)::int from public.videos v
          where v.status = 'failed' and coalesce(v.last_outcome, '') <> 'withdrawn'
            and (v.attempts - v.free_attempts >= p_max_attempts or v.last_outcome = 'permanent')),
         p_now - (select min(v.created_at) from public.videos v where v.status = 'initiate'),
         (select count(*)::int from public.videos v
          where v.status = 'uploading' and (v.started_at < p_now - p_interrupted_after or v.started_at > p_now + p_interrupted_after)),
         -- (the database's clock: leases are liveness)
         (select count(*)::int from public.upload_attempts a where a.outcome is null and a.lease_until < now()),
         (select count(*)::int from public.videos v where v.status = 'initiate' and v.last_outcome = 'unknown'),
         (select count(*)::int from public.users u where u.held_until > p_now),
         (select count(*)::int from public.users u where u.uploads_paused_until > p_now),
         w.seen, w.skewed, w.max_skew, lim.users, lim.until
  from (select null) one
  left join lateral (
    select t.at, t.claimed, t.duration_ms from upload_scheduler.ticks t
    where t.at <= p_now
    order by t.at desc
    limit 1
  ) t on true
  cross join lateral (
    -- Workers seen in the last five minutes, and those whose clock is more than 30 s off.
    select count(*)::int as seen, (count(*) filter (where abs(w.clock_skew_ms) > 30000))::int as skewed,
           max(abs(w.clock_skew_ms)) as max_skew
    from upload_scheduler.workers w
    where w.seen_at > now() - interval '5 minutes'
  ) w
  cross join lateral (
    -- Users a platform's limit holds now (one of their limits is full), and until when the last
    -- of those holds lasts (limit_status names them).
    select count(distinct u.user_id)::int as users, max(u.frees_at) as until
    from upload_scheduler_private.limit_usage(array(select distinct l.user_id from public.upload_limits l), p_now) u
    where u.frees_at is not null
  ) lim;
end;
$$;

comment on function upload_scheduler.health(interval, integer, timestamptz) is
  E'How the scheduler is doing at p_now, in one row: the last tick (when, how long ago, what it claimed, how long it took), ticks in the last hour, videos waiting / pending / uploading / failed and retryable / failed for good (attempts used up, or permanent), the oldest waiting video''s age, uploads running longer than p_interrupted_after, running attempts whose lease has run out (by the database''s clock), videos whose last outcome stayed unknown, users held (a destination said to retry later) and paused, the workers seen in the last five minutes with those whose clock is more than 30 s off, and the users a platform''s limit holds (a limit full at p_now: users_limited) with the instant the last of those holds ends (limited_until; limit_status gives each). Pass the worker''s INTERRUPTED_AFTER and MAX_ATTEMPTS.';
