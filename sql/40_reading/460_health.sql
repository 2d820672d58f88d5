-- How the scheduler is doing, in one row, from what the database knows: its own tick log and
-- the videos' partial indexes (each count reads one small index, never the uploads of the past).
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
  overdue_uploads integer
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
         (select count(*)::int from public.videos v where v.status = 'failed' and v.attempts < p_max_attempts),
         (select count(*)::int from public.videos v where v.status = 'failed' and v.attempts >= p_max_attempts),
         p_now - (select min(v.created_at) from public.videos v where v.status = 'initiate'),
         (select count(*)::int from public.videos v where v.status = 'uploading' and (v.started_at < p_now - p_interrupted_after or v.started_at > p_now + p_interrupted_after))
  from (select null) one
  left join lateral (
    select t.at, t.claimed, t.duration_ms from upload_scheduler.ticks t
    where t.at <= p_now
    order by t.at desc
    limit 1
  ) t on true;
end;
$$;

comment on function upload_scheduler.health(interval, integer, timestamptz) is
  E'How the scheduler is doing at p_now, in one row: the last tick (when, how long ago, what it claimed, how long it took), ticks in the last hour, videos waiting / pending / uploading / failed and retryable / failed for good (attempts used up), the oldest waiting video''s age, and uploads running longer than p_interrupted_after (their worker may be gone). Pass the worker''s INTERRUPTED_AFTER and MAX_ATTEMPTS.';
