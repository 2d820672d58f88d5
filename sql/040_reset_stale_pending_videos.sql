-- Sweeps take their owners' due rows and then the videos, both with SKIP LOCKED, in id order:
-- they never wait on a row another session holds, so they cannot deadlock with workers,
-- claims, schedule changes or each other.
create or replace function upload_scheduler.reset_stale_pending_videos(
  p_older_than interval default '30 minutes',
  p_now timestamptz default now()
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set jit = off
-- (v.user_id = any(v_users) below, planned with the list's values: see claim_due_videos)
set plan_cache_mode = force_custom_plan
as $$
declare
  v_cutoff timestamptz;
  v_ahead timestamptz;
  v_users uuid[];
  v_ids uuid[];
begin
  v_cutoff := upload_scheduler_private.check_instant(p_now, 'p_now')
              - upload_scheduler_private.check_interval(p_older_than, 'p_older_than', '30 minutes');
  -- A claim stamped further ahead than that (a "what if" claim at a later p_now, or a plain
  -- write) is not this clock's: it would otherwise wait for its future to come.
  v_ahead := p_now + p_older_than;

  select array_agg(distinct v.user_id) into v_users
  from public.videos v where v.status = 'pending' and (v.claimed_at < v_cutoff or v.claimed_at > v_ahead);
  if v_users is null then
    return 0;
  end if;
  -- Owners being changed by another session are left for the next sweep.
  v_users := upload_scheduler_private.take_due(v_users);

  select array_agg(x.id) into v_ids
  from (
    select v.id from public.videos v
    where v.status = 'pending' and (v.claimed_at < v_cutoff or v.claimed_at > v_ahead) and v.user_id = any(v_users)
    order by v.id
    for update skip locked
  ) x;
  if v_ids is null then
    return 0;
  end if;

  insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, finished_at, outcome, error)
  select v.id, v.user_id, v.attempts + 1, v.slot_id, v.slot_date, v.claimed_at, p_now, 'stale',
         case when v.claimed_at > v_ahead then format('claimed at %s, later than now (%s)', v.claimed_at, p_now)
              else format('claimed at %s and not started within %s', v.claimed_at, p_older_than) end
  from public.videos v
  where v.id = any(v_ids);

  -- Giving the place back in the slot (the counter) is the statement trigger's work.
  update public.videos v
  set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, last_outcome = 'stale'
  where v.id = any(v_ids);
  return cardinality(v_ids);
end;
$$;

comment on function upload_scheduler.reset_stale_pending_videos(interval, timestamptz) is
  E'Puts videos that have been pending (claimed, never started) for longer than p_older_than (or claimed more than p_older_than after p_now) back to initiate, giving their place in the slot back, and records a stale attempt. Returns how many.';
