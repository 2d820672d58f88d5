-- Each user's next due instant (upload_scheduler.user_due): what lets a tick read only the users
-- that may have something to claim. The rule: no claim for the user is possible before due_at.
--   - Anything that could make a claim possible sooner marks the user: a change to the user's
--     slots, date exceptions, pause or time zone sets due_at to '-infinity' (mark_due, which
--     also takes the row's lock); a video arriving or going back to the queue, or a place given
--     back, leaves a row in due_marks (insert only: a writer of videos never waits for a tick).
--   - The tick looks at the users whose due_at has come, claims what it can, and sets each one's
--     due_at again from the rule's next_at (refresh_due).
-- The row's lock is also the user's serialisation point: claims write it, every change to the
-- user's schedule writes it (by marking it), so a claim sees a schedule before or after a change,
-- and at REPEATABLE READ one of two racing writers fails to serialise. A tick skips the users whose
-- row another session holds (their schedule is changing; they are marked, and the next tick
-- takes them): one tenant's open transaction never stalls the others.

-- A change to these users' schedules: lock their rows in id order and mark them due.
create or replace function upload_scheduler_private.mark_due(p_user_ids uuid[])
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  -- (A user being deleted is skipped: its slots and exceptions go with it, and its due row too.)
  perform 1
  from upload_scheduler.user_due d
  join unnest(p_user_ids) as x (user_id) on x.user_id = d.user_id
  where exists (select 1 from public.users u where u.id = d.user_id)
  order by d.user_id
  for no key update of d;
  update upload_scheduler.user_due d set due_at = '-infinity'
  from unnest(p_user_ids) as x (user_id)
  where d.user_id = x.user_id and exists (select 1 from public.users u where u.id = d.user_id);
end;
$$;

comment on function upload_scheduler_private.mark_due(uuid[]) is
  E'Internal: the schedule of these users changed: locks their due rows (in id order) and sets due_at to -infinity, so the next tick looks at them.';

-- Takes the due rows of these users that no other session holds (in id order) and returns their
-- users; a row being changed by another session is left for the next tick.
create or replace function upload_scheduler_private.take_due(p_user_ids uuid[])
returns uuid[]
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  return coalesce(array(
    select d.user_id
    from upload_scheduler.user_due d
    join (select distinct x.user_id from unnest(p_user_ids) as x (user_id)) x on x.user_id = d.user_id
    order by d.user_id
    for no key update of d skip locked), '{}');
end;
$$;

comment on function upload_scheduler_private.take_due(uuid[]) is
  E'Internal: locks the due rows of these users that no other session holds, in id order, and returns their users (a tick then claims for them and refresh_due writes each row).';

-- The users a tick at p_now must look at, besides the marked ones.
create or replace function upload_scheduler_private.due_users(p_now timestamptz)
returns uuid[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_now >= (select c.latest from upload_scheduler.tick_clock c) then
    return array(select d.user_id from upload_scheduler.user_due d where d.due_at <= p_now);
  end if;
  -- Before the latest tick (a replay, a "what if"): due_at was computed from later instants and
  -- says nothing about this one; every user with a waiting video is looked at.
  return array(select distinct v.user_id from public.videos v where v.status = 'initiate');
end;
$$;

comment on function upload_scheduler_private.due_users(timestamptz) is
  E'Internal: the users a tick at p_now looks at (besides marked ones): those whose due_at has come (an index range), or, for a tick before the latest one, every user with a waiting video.';

-- Writes the due rows of these users (taken by take_due) from the rule at p_now, after the
-- tick's claims: infinity when no video waits (an arrival marks the user), else the rule's
-- next_at. Every row taken is written once, so a schedule change at REPEATABLE READ that began
-- before the tick fails to serialise on it.
create or replace function upload_scheduler_private.refresh_due(p_user_ids uuid[], p_now timestamptz)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_waiting uuid[];
  v_idle uuid[];
begin
  select array_agg(x.user_id) filter (where x.waiting), array_agg(x.user_id) filter (where not x.waiting)
    into v_waiting, v_idle
  from (
    select x.user_id, exists (select 1 from public.videos v where v.user_id = x.user_id and v.status = 'initiate') as waiting
    from unnest(p_user_ids) as x (user_id)
  ) x;
  -- (A waiting video with a not_before later than the rule's next_at moves the bound to it, when
  -- every waiting video has one. Each is one index probe, however long the queue: the first
  -- waiting video without a not_before, else the earliest not_before, videos_not_before_idx.)
  -- Every row taken is written, once (most often with the value it had: a HOT update).
  update upload_scheduler.user_due d set due_at = 'infinity'
  from unnest(v_idle) as x (user_id)
  where d.user_id = x.user_id;
  update upload_scheduler.user_due d
  set due_at = greatest(r.next_at,
                        case when exists (select 1 from public.videos v
                                          where v.user_id = r.user_id and v.status = 'initiate' and v.not_before is null)
                             then '-infinity'
                             else (select min(v.not_before) from public.videos v
                                   where v.user_id = r.user_id and v.status = 'initiate' and v.not_before is not null)
                        end)
  from upload_scheduler_private.claimable(v_waiting, p_now) r
  where d.user_id = r.user_id;

  update upload_scheduler.tick_clock c set latest = p_now where c.latest < p_now;
end;
$$;

comment on function upload_scheduler_private.refresh_due(uuid[], timestamptz) is
  E'Internal: writes these users'' due_at (taken by take_due) from the rule at p_now (infinity when no video waits, else claimable''s next_at), and moves tick_clock forward.';

-- A user may have something to claim sooner (a video arrived or went back to the queue, a place
-- was given back): the next tick looks at it. Insert only: never waits for a tick.
create or replace function upload_scheduler_private.mark_arrivals(p_user_ids uuid[])
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  insert into upload_scheduler.due_marks (user_id)
  select distinct x.user_id from unnest(p_user_ids) as x (user_id) where x.user_id is not null;
end;
$$;

comment on function upload_scheduler_private.mark_arrivals(uuid[]) is
  E'Internal: leaves a due mark for each of these users (a video arrived or went back to the queue, a place was given back), for the next tick.';
