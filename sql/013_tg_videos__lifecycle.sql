-- The rules of public.videos for every writer: the scheduler's functions, a plain UPDATE from
-- psql, an application's INSERT. Statement-level, so a tick that claims ten thousand videos
-- pays for one check and one counter update per statement, not one per row. Nothing a
-- session can set switches it off: the claim's own moves go through it like any other.
--
-- A video counts against its slot on its slot_date while pending, uploading or success. Its
-- place is given back when a claim is withdrawn (pending -> initiate, or a pending video moved
-- elsewhere) or an upload fails; an upload's place is never given back otherwise: moved away
-- from its slot or deleted, the upload keeps it ("kept").

-- Whether a video row's times can be right: finite, within the years the scheduler handles, and
-- in order (created, claimed, started, finished).
create or replace function upload_scheduler_private.video_times_problem(
  p_created_at timestamptz,
  p_claimed_at timestamptz,
  p_started_at timestamptz,
  p_finished_at timestamptz,
  p_slot_date date
)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
  select case
    when p_created_at is null or not isfinite(p_created_at) then 'created_at'
    when not (p_created_at >= '1900-01-01Z' and p_created_at < '2200-01-01Z'
              and coalesce(p_claimed_at >= '1900-01-01Z' and p_claimed_at < '2200-01-01Z', true)
              and coalesce(p_started_at >= '1900-01-01Z' and p_started_at < '2200-01-01Z', true)
              and coalesce(p_finished_at >= '1900-01-01Z' and p_finished_at < '2200-01-01Z', true)
              and coalesce(p_slot_date >= '1900-01-01' and p_slot_date < '2200-01-01', true)) then 'range'
    when p_started_at < p_claimed_at or p_finished_at < p_started_at then 'order'
  end
$$;

comment on function upload_scheduler_private.video_times_problem(timestamptz, timestamptz, timestamptz, timestamptz, date) is
  E'Internal: NULL when a video''s times are finite, within 1900-2199 and in order (claimed <= started <= finished); else which rule they break.';

create or replace function upload_scheduler_private.tg_videos__lifecycle()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set jit = off
-- Plans. PL/pgSQL keeps each statement's plan for the session, and the planner sizes a
-- transition table by its rows when the statement was first prepared: a plan made for a one-row
-- UPDATE (a worker's start_upload) would nested-loop over old_rows and new_rows, quadratic for a
-- later tick's fifty thousand claims on the same connection (minutes). So nested loops are off
-- here, and old and new rows are always paired by a hash or merge join, linear at any size (the
-- claim turns hash and merge joins off for itself; they are on again here). Lookups in the
-- tables are LATERAL subqueries, which PostgreSQL runs as index probes per row whatever the
-- setting, and the two statements that join a table to a list (the claim's counters, the
-- attempts an outcome closes) turn nested loops back on for themselves.
set enable_hashjoin = on
set enable_mergejoin = on
set enable_nestloop = off
as $$
declare
  v_bad record;
  v_misfit record;
  v_over record;
  v_claim boolean;
  v_scope uuid;
  v_slot_ids uuid[];
  v_dates date[];
  v_deltas int[];
  v_kept int[];
  v_last timestamptz[];
  v_marks uuid[];
  v_counted uuid[];
  v_ended uuid[];
  v_ended_attempts int[];
  v_ended_at timestamptz[];
  v_ended_outcomes text[];
  v_ended_errors text[];
begin
  v_claim := false;
  if tg_op = 'UPDATE' then
    -- No LIMIT: with one, the planner hopes to find a bad row early and nested-loops over both
    -- transition tables, quadratic in the rows changed when (as usual) there is none.
    -- SELECT INTO keeps the first row anyway (the sort only ever sees bad rows).
    select b.* into v_bad
    from (
      select n.id, o.status as old_status, n.status as new_status, o.attempts as old_attempts, n.attempts as new_attempts,
             n.last_outcome,
             case
               when n.status not in ('initiate', 'pending', 'uploading', 'success', 'failed') then 'status'
               when o.status <> n.status and (o.status, n.status) not in (
                 ('initiate', 'pending'), ('pending', 'uploading'), ('uploading', 'success'), ('uploading', 'failed'),
                 ('pending', 'initiate'), ('failed', 'initiate')) then 'move'
               when (o.status = 'pending' and n.status = 'uploading' and n.attempts is distinct from o.attempts + 1)
                    or (not (o.status = 'pending' and n.status = 'uploading') and n.attempts is distinct from o.attempts) then 'attempts'
               when (n.slot_id is null) <> (n.slot_date is null) then 'slot'
               when n.status = 'pending' and n.claimed_at is null then 'pending'
               when n.status = 'uploading' and (n.claimed_at is null or n.started_at is null) then 'uploading'
               when n.status = 'failed' and n.finished_at is null then 'failed'
               when n.last_outcome not in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late') then 'outcome'
               when o.status = 'pending' and n.status = 'uploading' and n.slot_id is null then 'noslot'
               -- (upload_scheduler_private.video_times_problem, written out: a function call per row
               -- would cost a claim of ten thousand videos tens of milliseconds)
               when n.created_at is null or not isfinite(n.created_at) then 'created_at'
               when not (n.created_at >= '1900-01-01Z' and n.created_at < '2200-01-01Z'
                         and coalesce(n.claimed_at >= '1900-01-01Z' and n.claimed_at < '2200-01-01Z', true)
                         and coalesce(n.started_at >= '1900-01-01Z' and n.started_at < '2200-01-01Z', true)
                         and coalesce(n.finished_at >= '1900-01-01Z' and n.finished_at < '2200-01-01Z', true)
                         and coalesce(n.slot_date >= '1900-01-01' and n.slot_date < '2200-01-01', true)) then 'range'
               when n.started_at < n.claimed_at or (n.status in ('success', 'failed') and n.finished_at < n.started_at) then 'order'
             end as problem
      from old_rows o
      join new_rows n on n.id = o.id
    ) b
    where b.problem is not null
    -- A move off the lifecycle is the error to report, whichever row shows it.
    order by case b.problem when 'status' then 0 when 'move' then 1 when 'attempts' then 2 else 3 end;
    if found then
      perform upload_scheduler_private.raise_bad_video_row(v_bad.problem, v_bad.id, v_bad.old_status, v_bad.new_status,
                                                           v_bad.old_attempts, v_bad.new_attempts, v_bad.last_outcome);
    end if;

    v_claim := exists (select 1 from upload_scheduler.claiming c where c.txid = pg_current_xact_id());
  end if;

  if tg_op = 'UPDATE' and v_claim then
    -- A claim (only the scheduler's functions can say so: upload_scheduler.claiming is theirs
    -- alone) moves initiate videos, which counted nowhere, to pending in the slot open for each
    -- user, picked under the users' due rows and within the room their counters showed under
    -- their lock: it takes places, gives none back, and needs no check of its slots or quota.
    -- (The claim holds these counters' locks already: their order here does not matter.)
    select array_agg(d.slot_id), array_agg(d.slot_date), array_agg(d.delta), array_agg(0), array_agg(d.last_claim)
      into v_slot_ids, v_dates, v_deltas, v_kept, v_last
    from (
      select n.slot_id, n.slot_date, count(*)::int as delta, max(n.claimed_at) as last_claim
      from new_rows n
      where n.slot_id is not null and n.status = 'pending'
      group by 1, 2
    ) d;
  elsif tg_op = 'UPDATE' then
    -- Collect, per (slot, date): -1 where a place is given back, +1 where one is taken, kept +1
    -- where an upload leaves its place (see the comment above); the latest claim; and the users
    -- who may now have something to claim sooner.
    select array_agg(d.slot_id order by d.slot_id, d.slot_date), array_agg(d.slot_date order by d.slot_id, d.slot_date),
           array_agg(d.delta order by d.slot_id, d.slot_date), array_agg(d.kept order by d.slot_id, d.slot_date),
           array_agg(d.last_claim order by d.slot_id, d.slot_date)
      into v_slot_ids, v_dates, v_deltas, v_kept, v_last
    from (
      select x.slot_id, x.slot_date, sum(x.delta)::int as delta, sum(x.kept)::int as kept, max(x.claimed_at) as last_claim
      from old_rows o
      join new_rows n on n.id = o.id
      cross join lateral (
        select o.status in ('pending', 'uploading', 'success') and o.slot_id is not null as old_counts,
               n.status in ('pending', 'uploading', 'success') and n.slot_id is not null as new_counts,
               o.status = 'pending' or n.status in ('initiate', 'failed') as gives_back
      ) c
      cross join lateral (
        select c.old_counts and c.new_counts and o.slot_id = n.slot_id and o.slot_date = n.slot_date as same_place
      ) p
      cross join lateral (values
        (o.slot_id, o.slot_date,
         case when c.old_counts and not p.same_place and c.gives_back then -1 else 0 end,
         case when c.old_counts and not p.same_place and not c.gives_back then 1 else 0 end,
         null::timestamptz),
        (n.slot_id, n.slot_date, case when c.new_counts and not p.same_place then 1 else 0 end, 0, n.claimed_at)
      ) as x (slot_id, slot_date, delta, kept, claimed_at)
      where x.delta <> 0 or x.kept <> 0
      group by 1, 2
    ) d;

    select array_agg(distinct n.user_id) into v_marks
    from old_rows o
    join new_rows n on n.id = o.id
    where (n.status = 'initiate' and o.status <> 'initiate')
       or (o.status in ('pending', 'uploading', 'success') and o.slot_id is not null
           and (n.status in ('initiate', 'failed') or (o.status = 'pending' and (o.slot_id, o.slot_date) is distinct from (n.slot_id, n.slot_date))));
  elsif tg_op = 'INSERT' then
    select array_agg(d.slot_id order by d.slot_id, d.slot_date), array_agg(d.slot_date order by d.slot_id, d.slot_date),
           array_agg(d.delta order by d.slot_id, d.slot_date), array_agg(0),
           array_agg(d.last_claim order by d.slot_id, d.slot_date)
      into v_slot_ids, v_dates, v_deltas, v_kept, v_last
    from (
      select n.slot_id, n.slot_date, count(*)::int as delta, max(n.claimed_at) as last_claim
      from new_rows n
      where n.slot_id is not null and n.status in ('pending', 'uploading', 'success')
      group by 1, 2
    ) d;
    select array_agg(distinct n.user_id) into v_marks from new_rows n where n.status = 'initiate';
  else
    select array_agg(d.slot_id order by d.slot_id, d.slot_date), array_agg(d.slot_date order by d.slot_id, d.slot_date),
           array_agg(d.delta order by d.slot_id, d.slot_date), array_agg(d.kept order by d.slot_id, d.slot_date),
           array_agg(null::timestamptz)
      into v_slot_ids, v_dates, v_deltas, v_kept, v_last
    from (
      select o.slot_id, o.slot_date, -count(*) filter (where o.status = 'pending')::int as delta,
             count(*) filter (where o.status <> 'pending')::int as kept
      from old_rows o
      where o.slot_id is not null and o.status in ('pending', 'uploading', 'success')
      group by 1, 2
    ) d;
    select array_agg(distinct o.user_id) into v_marks from old_rows o where o.status = 'pending' and o.slot_id is not null;
  end if;

  -- Who may have something to claim sooner: the next tick looks at them (insert only: no wait).
  if v_marks is not null then
    insert into upload_scheduler.due_marks (user_id) select unnest(v_marks);
  end if;

  -- The slots of newly counted videos (written into a slot by anything but a claim): the writer
  -- takes the slots' KEY SHARE locks (as a foreign key would), so a slot cannot be deleted under
  -- it. Then each must exist, belong to the video's user and be on the weekday of its slot_date.
  if tg_op = 'UPDATE' and not v_claim then
    select array_agg(distinct n.slot_id) into v_counted
    from old_rows o
    join new_rows n on n.id = o.id
    where n.status in ('pending', 'uploading', 'success') and n.slot_id is not null
      and not (o.status in ('pending', 'uploading', 'success') and o.slot_id = n.slot_id and o.slot_date = n.slot_date);
  elsif tg_op = 'INSERT' then
    select array_agg(distinct n.slot_id) into v_counted
    from new_rows n
    where n.status in ('pending', 'uploading', 'success') and n.slot_id is not null;
  end if;
  if v_counted is not null then
    perform 1 from public.upload_schedules s where s.id = any(v_counted) order by s.id for key share;
    v_scope := upload_scheduler_private.acting_user_id();
    -- Slots of another tenant are reported as missing (nothing about them leaks).
    if tg_op = 'UPDATE' then
      select n.id, n.slot_id, n.slot_date, n.user_id, s.id as found_slot, s.user_id as slot_user, s.day
        into v_misfit
      from old_rows o
      join new_rows n on n.id = o.id
      left join lateral (
        select s.id, s.user_id, s.day from public.upload_schedules s
        where s.id = n.slot_id and (v_scope is null or s.user_id = v_scope)
        limit 1
      ) s on true
      where n.status in ('pending', 'uploading', 'success') and n.slot_id is not null
        and not (o.status in ('pending', 'uploading', 'success') and o.slot_id = n.slot_id and o.slot_date = n.slot_date)
        and (s.id is null or s.user_id <> n.user_id
             or s.day <> (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])[extract(isodow from n.slot_date)::int]);
    else
      select n.id, n.slot_id, n.slot_date, n.user_id, s.id as found_slot, s.user_id as slot_user, s.day
        into v_misfit
      from new_rows n
      left join lateral (
        select s.id, s.user_id, s.day from public.upload_schedules s
        where s.id = n.slot_id and (v_scope is null or s.user_id = v_scope)
        limit 1
      ) s on true
      where n.status in ('pending', 'uploading', 'success') and n.slot_id is not null
        and (s.id is null or s.user_id <> n.user_id
             or s.day <> (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])[extract(isodow from n.slot_date)::int]);
    end if;
    if found then
      if v_misfit.found_slot is null then
        raise exception 'Video % is counted against slot %, which does not exist.', v_misfit.id, v_misfit.slot_id
          using errcode = 'UPNSL',
                hint = 'Give slot_id of one of the video''s user''s slots, or leave slot_id and slot_date NULL.';
      elsif v_misfit.slot_user <> v_misfit.user_id then
        raise exception 'Video % of user % cannot count against slot %, which belongs to user %.', v_misfit.id, v_misfit.user_id, v_misfit.slot_id, v_misfit.slot_user
          using errcode = 'UPVSL',
                hint = 'Use a slot of the video''s own user (select id, day, start_time from upload_schedules where user_id = …).';
      else
        raise exception 'Video % has slot_date % (a %), but its slot % is on %.', v_misfit.id, v_misfit.slot_date,
            to_char(v_misfit.slot_date, 'FMday'), v_misfit.slot_id, v_misfit.day
          using errcode = 'UPVSL',
                hint = 'slot_date is the local date of the claim: a date on the slot''s weekday.';
      end if;
    end if;
  end if;

  -- An upload started by hand starts inside its slot's window on its date, or within a day after
  -- it (the longest START_GRACE); start_upload keeps to the worker's grace itself. (A claim
  -- moves initiate videos to pending, which the check above has just confirmed: it starts and
  -- ends nothing, and skips this and the history below.)
  if tg_op = 'UPDATE' and not v_claim then
    select n.id, n.started_at, w.opens_at, w.closes_at into v_bad
    from old_rows o
    join new_rows n on n.id = o.id
    cross join lateral (select s.start_time, s.end_time from public.upload_schedules s where s.id = n.slot_id limit 1) s
    cross join lateral (select u.time_zone from public.users u where u.id = n.user_id limit 1) u
    cross join lateral (
      select least((n.slot_date + s.start_time) - upload_scheduler_private.utc_offset(u.time_zone, n.slot_date::timestamp at time zone u.time_zone),
                   (n.slot_date + s.start_time) - upload_scheduler_private.utc_offset(u.time_zone, (n.slot_date + 1)::timestamp at time zone u.time_zone - interval '1 second'))
               at time zone 'UTC' as opens_at,
             greatest((n.slot_date + s.end_time) - upload_scheduler_private.utc_offset(u.time_zone, n.slot_date::timestamp at time zone u.time_zone),
                      (n.slot_date + s.end_time) - upload_scheduler_private.utc_offset(u.time_zone, (n.slot_date + 1)::timestamp at time zone u.time_zone - interval '1 second'))
               at time zone 'UTC' + interval '1 second' as closes_at
    ) w
    where o.status = 'pending' and n.status = 'uploading'
      and (n.started_at < w.opens_at or n.started_at > w.closes_at + interval '1 day')
    limit 1;
    if found then
      raise exception 'Video % cannot start at %: its slot is open from % to %.', v_bad.id, v_bad.started_at, v_bad.opens_at, v_bad.closes_at
        using errcode = 'UPROW',
              detail = 'An upload starts inside its slot''s window on its slot_date, or within a day after it closes.',
              hint = 'Start uploads with upload_scheduler.start_upload(id), which sends a video whose slot has closed back to the queue.';
    end if;
  end if;

  if v_slot_ids is not null and v_claim then
    -- A claim's counters: it created or locked them before it read their room, and took no more
    -- than that room under their lock (and its users' due rows), so they only need raising.
    -- (An index probe per counter: nested loops on for this statement alone.)
    perform set_config('enable_nestloop', 'on', true);
    update upload_scheduler.slot_day_counts c
    set used = c.used + d.delta, last_claim_at = greatest(c.last_claim_at, d.last_claim)
    from unnest(v_slot_ids, v_dates, v_deltas, v_last) as d (slot_id, local_date, delta, last_claim)
    where c.slot_id = d.slot_id and c.local_date = d.local_date;
    perform set_config('enable_nestloop', 'off', true);
  elsif v_slot_ids is not null then
    -- In (slot, date) order, so concurrent statements cannot deadlock on counters. A counter
    -- that no longer exists (its slot was deleted) has nothing to give back.
    with changed as (
      insert into upload_scheduler.slot_day_counts as c (slot_id, local_date, used, kept, last_claim_at)
      select d.slot_id, d.local_date, d.delta, d.kept, d.last_claim
      from unnest(v_slot_ids, v_dates, v_deltas, v_kept, v_last) with ordinality as d (slot_id, local_date, delta, kept, last_claim, n)
      where d.delta > 0 or exists (select 1 from upload_scheduler.slot_day_counts e where e.slot_id = d.slot_id and e.local_date = d.local_date)
      order by d.n
      on conflict (slot_id, local_date) do update
        set used = c.used + excluded.used, kept = c.kept + excluded.kept,
            last_claim_at = greatest(c.last_claim_at, excluded.last_claim_at)
      returning c.slot_id, c.local_date, c.used
    )
    select x.slot_id, x.local_date, x.used, coalesce(e.max_uploads, s.max_uploads) as max_uploads, s.slot_name,
           e.max_uploads is not null as by_exception
      into v_over
    from changed x
    join unnest(v_slot_ids, v_dates, v_deltas) as d (slot_id, local_date, delta)
      on d.slot_id = x.slot_id and d.local_date = x.local_date
    cross join lateral (
      select s.id, s.user_id, s.max_uploads, s.slot_name from public.upload_schedules s where s.id = x.slot_id limit 1
    ) s
    -- The quota that day: a date exception of the slot, else of the whole day, else the slot's.
    left join lateral (
      select e.max_uploads from public.upload_schedule_exceptions e
      where e.user_id = s.user_id and e.local_date = x.local_date and (e.slot_id = s.id or e.slot_id is null)
      order by e.slot_id nulls last
      limit 1
    ) e on true
    where x.used < 0 or (d.delta > 0 and x.used > coalesce(e.max_uploads, s.max_uploads));
    if found then
      if v_over.used < 0 then
        raise exception 'The count of slot % on % would drop to %.', v_over.slot_id, v_over.local_date, v_over.used
          using errcode = 'UPCNT',
                hint = 'The counters disagree with the videos; this is a bug of the scheduler. Please report it with the statement that raised it.';
      end if;
      raise exception 'Slot % (%) allows % uploads on %; this change would count %.',
          coalesce(quote_literal(v_over.slot_name), v_over.slot_id::text), v_over.slot_id, v_over.max_uploads,
          v_over.local_date || case when v_over.by_exception then ' (a date exception)' else '' end, v_over.used
        using errcode = 'UPFUL',
              detail = 'Videos that are pending, uploading or success count against their slot on their slot_date.',
              hint = 'Raise the slot''s max_uploads, use another slot or date, or leave slot_id and slot_date NULL.';
    end if;
  end if;

  -- The history: a start opens an attempt, its end closes it (the claim writes nothing here).
  if tg_op = 'UPDATE' and not v_claim then
    insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, started_at, worker)
    select n.id, n.user_id, n.attempts, n.slot_id, n.slot_date, n.claimed_at, n.started_at, n.worker
    from old_rows o
    join new_rows n on n.id = o.id
    where o.status = 'pending' and n.status = 'uploading';

    -- The uploads this statement ended (old and new rows paired by a hash or merge join), then
    -- their attempts by index, one probe each (nested loops on for that statement alone).
    select array_agg(n.id), array_agg(n.attempts), array_agg(n.finished_at),
           array_agg(case when n.status = 'success' then 'success'
                          when n.last_outcome in ('failed', 'timed_out', 'aborted', 'interrupted') then n.last_outcome
                          else 'failed' end),
           array_agg(case when n.status = 'failed' then n.last_error end)
      into v_ended, v_ended_attempts, v_ended_at, v_ended_outcomes, v_ended_errors
    from old_rows o
    join new_rows n on n.id = o.id
    where o.status = 'uploading' and n.status in ('success', 'failed');
    if v_ended is not null then
      perform set_config('enable_nestloop', 'on', true);
      update public.upload_attempts a
      set finished_at = x.finished_at, outcome = x.outcome, error = x.error
      from unnest(v_ended, v_ended_attempts, v_ended_at, v_ended_outcomes, v_ended_errors) as x (video_id, attempt, finished_at, outcome, error)
      where a.video_id = x.video_id and a.attempt = x.attempt and a.started_at is not null and a.outcome is null;
      perform set_config('enable_nestloop', 'off', true);
    end if;
  elsif tg_op = 'INSERT' then
    insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, started_at, worker)
    select n.id, n.user_id, n.attempts, n.slot_id, n.slot_date, n.claimed_at, n.started_at, n.worker
    from new_rows n
    where n.status = 'uploading';
  end if;

  return null;
end;
$$;

comment on function upload_scheduler_private.tg_videos__lifecycle() is
  E'Trigger: refuses moves off the lifecycle and inconsistent rows (UPSTS, UPATT, UPROW), videos counted against a missing slot, another user''s slot or the wrong weekday (UPNSL, UPVSL) or over the slot''s quota (UPFUL), and uploads started outside their slot; keeps upload_scheduler.slot_day_counts in step (uploads keep their place when moved or deleted), marks users due, and records attempts in public.upload_attempts.';

drop trigger if exists tg_videos__lifecycle_insert on public.videos;
create trigger tg_videos__lifecycle_insert
  after insert on public.videos
  referencing new table as new_rows
  for each statement execute function upload_scheduler_private.tg_videos__lifecycle();

drop trigger if exists tg_videos__lifecycle_update on public.videos;
create trigger tg_videos__lifecycle_update
  after update on public.videos
  referencing old table as old_rows new table as new_rows
  for each statement execute function upload_scheduler_private.tg_videos__lifecycle();

drop trigger if exists tg_videos__lifecycle_delete on public.videos;
create trigger tg_videos__lifecycle_delete
  after delete on public.videos
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_videos__lifecycle();
