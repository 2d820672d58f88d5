-- The claim: initiate -> pending, taking a place in the ledger.

-- Gives back the places these videos hold (a claim withdrawn, an upload failed) and marks their
-- users for the next tick. Releasing never puts a slot over its quota, so it takes no lock a
-- claim holds: a tenant's open transaction that gives a place back delays nobody.
create or replace function upload_scheduler_private.release_places(p_video_ids uuid[], p_at timestamptz)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  with released as (
    update upload_scheduler.places p
    set released_at = p_at
    from unnest(p_video_ids) as x (video_id)
    where p.video_id = x.video_id and p.released_at is null
    returning p.user_id
  )
  insert into upload_scheduler.due_marks (user_id) select distinct r.user_id from released r;
end;
$$;

comment on function upload_scheduler_private.release_places(uuid[], timestamptz) is
  E'Internal: marks the places held by these videos as given back at p_at, and leaves due marks for their users.';

-- Claims that will not be started (their slot was deleted) go back to the queue, their places
-- with them.
create or replace function upload_scheduler_private.give_back(p_video_ids uuid[], p_at timestamptz)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_moved uuid[];
begin
  -- Only the videos still pending give their places back: one started meanwhile (after the
  -- caller read it as pending) keeps its place, and its upload counts.
  with moved as (
    update public.videos v
    set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null
    from unnest(p_video_ids) as x (id)
    where v.id = x.id and v.status = 'pending'
    returning v.id
  )
  select array_agg(m.id) into v_moved from moved m;
  perform upload_scheduler_private.release_places(coalesce(v_moved, '{}'), p_at);
end;
$$;

comment on function upload_scheduler_private.give_back(uuid[], timestamptz) is
  E'Internal: puts these pending videos back in the queue (initiate) and gives their places back at p_at.';

-- For each user given, whose due row the caller holds (it serialises the user's claims with
-- each other and with changes to the user's schedule), claims the oldest initiate videos into
-- the room the rule gives at p_now: one statement that moves them to pending and takes their
-- places. SKIP LOCKED: a video another session holds is left for the next claim. At most p_limit
-- in all (NULL: no limit).
create or replace function upload_scheduler_private.claim(p_user_ids uuid[], p_now timestamptz, p_limit integer)
returns setof public.videos
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  return query
  with rule as (
    select c.user_id, c.slot_id, c.local_date, c.start_time, c.end_time, c.room
    from upload_scheduler_private.claimable(p_user_ids, p_now) c
    where c.room > 0
  ),
  picked as (
    select r.user_id, r.slot_id, r.local_date, r.start_time, r.end_time, w.id
    from rule r
    cross join lateral (
      select v.id
      from public.videos v
      where v.user_id = r.user_id and v.status = 'initiate' and (v.not_before is null or v.not_before <= p_now)
      order by v.queue_priority desc, v.created_at, v.id
      limit r.room
      for update skip locked
    ) w
    limit p_limit
  ),
  placed as (
    insert into upload_scheduler.places (user_id, local_date, start_time, end_time, slot_id, video_id, taken_at)
    select p.user_id, p.local_date, p.start_time, p.end_time, p.slot_id, p.id, p_now
    from picked p
  )
  update public.videos v
  set status = 'pending', slot_id = p.slot_id, slot_date = p.local_date, claimed_at = p_now
  from picked p
  where v.id = p.id
  returning v.*;
end;
$$;

comment on function upload_scheduler_private.claim(uuid[], timestamptz, integer) is
  E'Internal: claims, for each of these users (their due rows held by the caller), the oldest initiate videos into the room upload_scheduler_private.claimable gives at p_now, moving them to pending and taking their places in one statement; at most p_limit in all. Use find_next_video_to_upload or claim_due_videos.';

create or replace function upload_scheduler.find_next_video_to_upload(
  p_user_id uuid,
  p_now timestamptz default now()
)
returns setof public.videos
language plpgsql
volatile
security definer
rows 1
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.user_time_zone(p_user_id);
  -- The user's claims take turns on its due row, waiting (16 callers on a slot with room for 3
  -- claim exactly 3), and write it: a claim or schedule change at REPEATABLE READ whose snapshot
  -- predates this one then fails to serialise instead of missing it. A new statement follows, so
  -- the claim reads the places as the last claim left them.
  update upload_scheduler.user_due d set due_at = d.due_at where d.user_id = p_user_id;
  return query select * from upload_scheduler_private.claim(array[p_user_id], p_now, 1);
end;
$$;

comment on function upload_scheduler.find_next_video_to_upload(uuid, timestamptz) is
  E'Claims the user''s first initiate video (by queue_priority, highest first: see move_to_front; then created_at, then id) into the slot open at p_now, if it has room today: initiate -> pending, atomically, taking a place in the slot. No row when no slot is open, the slot is full, paused or paced, or nothing waits.';

-- A tick's claim: the users whose due_at has come, and the marked ones; those whose due row
-- another session holds are left for the next tick. Then each one's due_at is set again from
-- the rule, and the marks read are gone. Ticks need no lock of their own: two at once take
-- disjoint users.
create or replace function upload_scheduler.claim_due_videos(
  p_now timestamptz default now(),
  p_limit integer default null
)
returns setof public.videos
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
-- A tick over thousands of users is costed high enough to be compiled by JIT, which takes longer
-- than the tick (test/tick.linear-plans.test.ts reads the plans).
set jit = off
as $$
declare
  v_marks bigint[];
  v_marked uuid[];
  v_users uuid[];
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  if p_limit < 0 then
    raise exception 'p_limit % is negative.', p_limit
      using errcode = 'UPARG',
            hint = 'Pass a positive number of videos to claim at most, or NULL for no limit.';
  end if;
  select array_agg(m.id), array_agg(distinct m.user_id) into v_marks, v_marked from upload_scheduler.due_marks m;
  v_users := upload_scheduler_private.take_due(upload_scheduler_private.due_users(p_now) || coalesce(v_marked, '{}'));
  if cardinality(v_users) > 0 then
    return query select * from upload_scheduler_private.claim(v_users, p_now, p_limit);
    perform upload_scheduler_private.refresh_due(v_users, p_now);
  end if;
  -- The marks read go; the users left for the next tick (their schedule is being changed) are
  -- marked again, if they still exist.
  delete from upload_scheduler.due_marks m using unnest(v_marks) as x (id) where m.id = x.id;
  insert into upload_scheduler.due_marks (user_id)
  select d.user_id
  from (select x.user_id from unnest(v_marked) as x (user_id) except select y.user_id from unnest(v_users) as y (user_id)) k
  join upload_scheduler.user_due d on d.user_id = k.user_id;
end;
$$;

comment on function upload_scheduler.claim_due_videos(timestamptz, integer) is
  E'One scheduler tick''s claim, for all users in one statement: for every open slot with room, its owner''s oldest initiate videos, as many as the slot has room for today; at most p_limit in all. It reads only the users that may have something to claim (upload_scheduler.user_due), and skips users whose schedule another session is changing. Returns the claimed (now pending) videos.';
