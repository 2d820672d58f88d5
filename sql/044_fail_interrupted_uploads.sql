create or replace function upload_scheduler.fail_interrupted_uploads(
  p_older_than interval default '35 minutes',
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
  v_count integer;
begin
  v_cutoff := upload_scheduler_private.check_instant(p_now, 'p_now')
              - upload_scheduler_private.check_interval(p_older_than, 'p_older_than', '35 minutes');
  -- A start stamped further ahead than that is not this clock's (see reset_stale_pending_videos).
  v_ahead := p_now + p_older_than;

  -- Owners' due rows first, then the videos, with SKIP LOCKED in id order (see reset_stale_pending_videos).
  select array_agg(distinct v.user_id) into v_users
  from public.videos v where v.status = 'uploading' and (v.started_at < v_cutoff or v.started_at > v_ahead);
  if v_users is null then
    return 0;
  end if;
  -- Owners being changed by another session are left for the next sweep.
  v_users := upload_scheduler_private.take_due(v_users);

  with picked as (
    select v.id from public.videos v
    where v.status = 'uploading' and (v.started_at < v_cutoff or v.started_at > v_ahead) and v.user_id = any(v_users)
    order by v.id
    for update skip locked
  )
  update public.videos v
  set status = 'failed',
      -- (a start from the future is brought back to now: its retry's cool-down counts from now)
      claimed_at = least(v.claimed_at, p_now),
      started_at = least(v.started_at, p_now),
      finished_at = p_now,
      last_outcome = 'interrupted',
      last_error = format('upload interrupted; outcome unknown (started %s, no result after %s)', v.started_at, p_older_than)
  from picked p
  where v.id = p.id;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

comment on function upload_scheduler.fail_interrupted_uploads(interval, timestamptz) is
  E'Marks videos uploading for longer than p_older_than (their worker died), or started more than p_older_than after p_now, as failed with "upload interrupted; outcome unknown", closing their attempt as interrupted; the retry policy then decides. Returns how many.';
