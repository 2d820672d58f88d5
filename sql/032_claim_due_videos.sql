-- One tick's claim at a time: ticks lock counters over several statements (their sweeps, then
-- the claim), and two of them in parallel could lock the same counters in opposite orders.
create or replace function upload_scheduler_private.lock_tick()
returns void
language sql
volatile
set search_path = pg_catalog
as $$
  select pg_advisory_xact_lock(hashtext('upload_scheduler: tick'))
$$;

comment on function upload_scheduler_private.lock_tick() is
  E'Internal: waits for the transaction-level advisory lock that serialises ticks (run_tick, claim_due_videos).';

create or replace function upload_scheduler.claim_due_videos(
  p_now timestamptz default now(),
  p_limit integer default null
)
returns setof public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog
as $$
declare
  v_user_ids uuid[];
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_limit < 0 then
    raise exception 'p_limit % is negative.', p_limit
      using errcode = 'UPARG',
            hint = 'Pass a positive number of videos to claim at most, or NULL for no limit.';
  end if;
  perform upload_scheduler_private.lock_tick();

  -- Users with an open slot with room (as far as this snapshot knows) and a video waiting.
  select array_agg(distinct o.user_id) into v_user_ids
  from upload_scheduler.open_slots(p_now) o
  where o.used < o.max_uploads
    and exists (select 1 from public.videos v where v.user_id = o.user_id and v.status = 'initiate');

  return query select * from upload_scheduler_private.claim_for_users(v_user_ids, p_limit, p_now);
end;
$$;

comment on function upload_scheduler.claim_due_videos(timestamptz, integer) is
  E'One scheduler tick''s claim, for all users in one statement: for every open slot with room, its owner''s oldest initiate videos, as many as the slot has room for today; at most p_limit in all. Returns the claimed (now pending) videos.';
