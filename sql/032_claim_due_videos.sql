-- One tick's claim at a time: ticks lock counters over several statements (their sweeps, then
-- the claim), and two of them in parallel could lock the same counters in opposite orders.
create or replace function upload_scheduler_private.lock_tick()
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
set jit = off
as $$
  select pg_advisory_xact_lock(hashtext('upload_scheduler: tick'))
$$;

comment on function upload_scheduler_private.lock_tick() is
  E'Internal: waits for the transaction-level advisory lock that serialises ticks (run_tick, claim_due_videos).';

-- (tick_claim's body now lives in claim_due_videos: one layer of result rows fewer.)
drop function if exists upload_scheduler_private.tick_claim(timestamptz, integer);

-- A tick's claim: the users whose due_at has come, and the marked ones; those whose due row
-- another session holds are left for the next tick. Then each one's due_at is set again, and
-- the marks read are gone.
create or replace function upload_scheduler.claim_due_videos(
  p_now timestamptz default now(),
  p_limit integer default null
)
returns setof public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set jit = off
-- Planned for each call with its lists' values: a plan kept for the session (PostgreSQL keeps
-- one after five calls) tests m.user_id = any(v_users) below row by row against the whole list,
-- quadratic in a tick of thousands; a plan made with the values hashes the list. Planning costs
-- nothing next to the work. (The sweeps do the same, for v.user_id = any(v_users).)
set plan_cache_mode = force_custom_plan
as $$
declare
  v_mark_ids bigint[];
  v_marked uuid[];
  v_users uuid[];
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_limit < 0 then
    raise exception 'p_limit % is negative.', p_limit
      using errcode = 'UPARG',
            hint = 'Pass a positive number of videos to claim at most, or NULL for no limit.';
  end if;
  perform upload_scheduler_private.lock_tick();

  select array_agg(m.id), array_agg(distinct m.user_id) into v_mark_ids, v_marked from upload_scheduler.due_marks m;
  v_users := upload_scheduler_private.take_due(upload_scheduler_private.due_users(p_now) || coalesce(v_marked, '{}'));
  if cardinality(v_users) > 0 then
    return query select * from upload_scheduler_private.claim_for_users(v_users, p_limit, p_now, false);
    perform upload_scheduler_private.refresh_due(v_users, p_now);
  end if;
  -- The marks read go, but those of users left for the next tick (a deleted user's go too).
  if v_mark_ids is not null then
    delete from upload_scheduler.due_marks m
    where m.id = any(v_mark_ids)
      and (m.user_id = any(v_users) or not exists (select 1 from upload_scheduler.user_due d where d.user_id = m.user_id));
  end if;
end;
$$;

comment on function upload_scheduler.claim_due_videos(timestamptz, integer) is
  E'One scheduler tick''s claim, for all users in one statement: for every open slot with room, its owner''s oldest initiate videos, as many as the slot has room for today; at most p_limit in all. It reads only the users that may have something to claim (upload_scheduler.user_due). Returns the claimed (now pending) videos.';
