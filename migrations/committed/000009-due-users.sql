--! Previous: sha1:05befb520bcc139b6e7d8a4a244d94efde5704f1
--! Hash: sha1:bf3a98ea09107675ea787cc7352e7f5b586f2498
--! Message: due users

-- A tick whose cost follows the work: each user's next due instant, kept exact enough that a
-- tick reads only the users that may have something to claim (an index on due_at), not the
-- whole population. The functions that keep it are in sql/.

-- due_at: no claim for this user is possible before it (a lower bound, recomputed by the tick
-- for the users it looks at). '-infinity': something changed, look at this user at the next
-- tick. 'infinity': nothing to claim until something changes (no video waits, paused for good).
-- Every user has a row: its lock is also what serialises the user's claims with changes to its
-- schedule (slots, exceptions, pause, time zone), which mark it due.
create table upload_scheduler.user_due (
  user_id uuid primary key references public.users (id) on delete cascade,
  due_at timestamptz not null
);
create index user_due_due_at_idx on upload_scheduler.user_due (due_at) where due_at < 'infinity';
comment on table upload_scheduler.user_due is
  E'Per user, the earliest instant a claim could happen (a lower bound; -infinity: look at the next tick, infinity: nothing to claim). Kept by the scheduler''s triggers and ticks; the tick reads only users whose due_at has come.';

-- Marks left by writers of videos (an arrival, a place given back): the next tick looks at
-- these users. Insert-only, so a writer never waits for a tick; the tick deletes what it read.
create table upload_scheduler.due_marks (
  id bigint generated always as identity primary key,
  user_id uuid not null
);
comment on table upload_scheduler.due_marks is
  E'Users to look at at the next tick, left by changes to videos (arrivals, places given back); the tick deletes the marks it has read.';

-- The latest instant a tick has looked at. due_at values are computed from the tick's p_now,
-- so a tick at an earlier instant (a replay, a psql "what if") cannot trust them and walks every
-- user instead, as ticks did before.
create table upload_scheduler.tick_clock (
  singleton boolean primary key default true check (singleton),
  latest timestamptz not null default '-infinity'
);
insert into upload_scheduler.tick_clock default values;
comment on table upload_scheduler.tick_clock is
  E'The latest p_now of a tick (one row). A tick at an earlier instant walks every user instead of trusting user_due.';

-- Every user, due at the next tick when a video waits.
insert into upload_scheduler.user_due (user_id, due_at)
select u.id, case when exists (select 1 from public.videos v where v.user_id = u.id and v.status = 'initiate')
                  then '-infinity'::timestamptz else 'infinity' end
from public.users u;
