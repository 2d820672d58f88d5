-- The rules of public.videos for every writer: the scheduler's functions, a plain UPDATE from
-- psql, an application's INSERT. Statement-level, so a tick that claims ten thousand videos
-- pays for one check and one counter update per statement, not one per row. Nothing a
-- session can set switches it off: the claim's own moves go through it like any other.
create or replace function upload_scheduler_private.tg_videos__lifecycle()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog
-- The claim turns hash and merge joins off for itself; this trigger runs inside it and needs
-- them to pair old and new rows in linear time.
set enable_hashjoin = on
set enable_mergejoin = on
as $$
declare
  v_bad record;
  v_misfit record;
  v_over record;
  v_slot_ids uuid[];
  v_dates date[];
  v_deltas int[];
  v_kept int[];
  v_last timestamptz[];
begin
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
               when n.attempts is distinct from o.attempts
                    and not (n.attempts = o.attempts + 1 and o.status = 'pending' and n.status = 'uploading') then 'attempts'
               when (n.slot_id is null) <> (n.slot_date is null) then 'slot'
               when n.status = 'pending' and n.claimed_at is null then 'pending'
               when n.status = 'uploading' and (n.claimed_at is null or n.started_at is null) then 'uploading'
               when n.status = 'failed' and n.finished_at is null then 'failed'
               when n.last_outcome not in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late') then 'outcome'
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

    -- A video that newly counts against a slot (claimed into it, or moved into it) must fit:
    -- the slot exists, belongs to the video's user, is on the weekday of slot_date.
    select n.id, n.slot_id, n.slot_date, n.user_id, s.id as found_slot, s.user_id as slot_user, s.day
      into v_misfit
    from old_rows o
    join new_rows n on n.id = o.id
    left join public.upload_schedules s on s.id = n.slot_id
    where n.slot_id is not null
      and n.status in ('pending', 'uploading', 'success')
      and (o.status not in ('pending', 'uploading', 'success') or o.slot_id is distinct from n.slot_id or o.slot_date is distinct from n.slot_date)
      and (s.id is null or s.user_id <> n.user_id
           or s.day <> (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])[extract(isodow from n.slot_date)::int]);
  elsif tg_op = 'INSERT' then
    select n.id, n.slot_id, n.slot_date, n.user_id, s.id as found_slot, s.user_id as slot_user, s.day
      into v_misfit
    from new_rows n
    left join public.upload_schedules s on s.id = n.slot_id
    where n.slot_id is not null
      and n.status in ('pending', 'uploading', 'success')
      and (s.id is null or s.user_id <> n.user_id
           or s.day <> (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])[extract(isodow from n.slot_date)::int]);
  end if;

  if tg_op <> 'DELETE' then
    if v_misfit.id is not null then
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

  -- Keep slot_day_counts equal to the places taken in each slot and date:
  -- -1 for each old row that counted, +1 for each new row that counts; a deleted video that
  -- was uploading or uploaded keeps its place ("kept"), a deleted pending one gives it back.
  -- (Transition tables exist only for their own event, hence one query per event.)
  if tg_op = 'INSERT' then
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
  elsif tg_op = 'UPDATE' then
    select array_agg(d.slot_id order by d.slot_id, d.slot_date), array_agg(d.slot_date order by d.slot_id, d.slot_date),
           array_agg(d.delta order by d.slot_id, d.slot_date), array_agg(0),
           array_agg(d.last_claim order by d.slot_id, d.slot_date)
      into v_slot_ids, v_dates, v_deltas, v_kept, v_last
    from (
      select x.slot_id, x.slot_date, sum(x.delta)::int as delta, max(x.claimed_at) as last_claim
      from (
        select o.slot_id, o.slot_date, -1 as delta, null::timestamptz as claimed_at
        from old_rows o
        where o.slot_id is not null and o.status in ('pending', 'uploading', 'success')
        union all
        select n.slot_id, n.slot_date, 1, n.claimed_at
        from new_rows n
        where n.slot_id is not null and n.status in ('pending', 'uploading', 'success')
      ) x
      group by 1, 2
      having sum(x.delta) <> 0
    ) d;
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
  end if;

  if v_slot_ids is not null then
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
    join public.upload_schedules s on s.id = x.slot_id
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
  if tg_op = 'UPDATE' then
    insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, started_at, worker)
    select n.id, n.user_id, n.attempts, n.slot_id, n.slot_date, n.claimed_at, n.started_at, n.worker
    from old_rows o
    join new_rows n on n.id = o.id
    where o.status = 'pending' and n.status = 'uploading';

    update public.upload_attempts a
    set finished_at = n.finished_at,
        outcome = case when n.status = 'success' then 'success'
                       when n.last_outcome in ('failed', 'timed_out', 'aborted', 'interrupted') then n.last_outcome
                       else 'failed' end,
        error = case when n.status = 'failed' then n.last_error end
    from old_rows o
    join new_rows n on n.id = o.id
    where o.status = 'uploading' and n.status in ('success', 'failed')
      and a.video_id = n.id and a.attempt = n.attempts and a.started_at is not null and a.outcome is null;
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
  E'Trigger: refuses moves off the lifecycle and inconsistent rows (UPSTS, UPATT, UPROW), videos counted against a missing slot, another user''s slot or the wrong weekday (UPNSL, UPVSL) or over the slot''s quota (UPFUL); keeps upload_scheduler.slot_day_counts in step, and records attempts in public.upload_attempts.';

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
