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
set jit = off
-- A bulk statement over lists of thousands: planned for each call with the lists' values, so a
-- test like user_id = any(list) is a hash lookup (a plan kept for the session would compare
-- each row with the whole list, quadratic). Planning costs nothing next to the work.
set plan_cache_mode = force_custom_plan
as $$
declare
  v_cutoff timestamptz;
  v_count integer;
begin
  v_cutoff := upload_scheduler_private.check_instant(p_now, 'p_now')
              - upload_scheduler_private.check_interval(p_cool_down, 'p_cool_down', '30 minutes');
  perform upload_scheduler_private.check_max_attempts(p_max_attempts);

  -- Nothing is counted against a slot here (failed videos gave their place back), so no
  -- owner lock; SKIP LOCKED, in id order, as in every sweep.
  with picked as (
    select v.id from public.videos v
    where v.status = 'failed' and v.attempts < p_max_attempts and v.finished_at <= v_cutoff
    order by v.id
    for update skip locked
  )
  update public.videos v
  set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, started_at = null, finished_at = null
  from picked p
  where v.id = p.id;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

comment on function upload_scheduler.retry_failed_videos(interval, integer, timestamptz) is
  E'Puts failed videos back to initiate once p_cool_down has passed since they failed, while they have had fewer than p_max_attempts attempts; last_error is kept. Returns how many.';
