-- The forecast: the tick that will claim each waiting video, if every earlier upload succeeds and
-- nothing else changes. It plays the ticks with the claim's own rule (claimable), adding the
-- claims it has played as simulated places: at each whole minute it asks the rule for the room,
-- gives it to the next videos of the queue, and steps to the rule's next_at when there is none.
-- So the forecast and the claim cannot disagree about quotas, date exceptions, pauses, pacing or
-- daylight saving time.
create or replace function upload_scheduler.upcoming_uploads(
  p_user_id uuid default null,
  p_horizon interval default '7 days',
  p_now timestamptz default now()
)
returns table (
  video_id uuid,
  user_id uuid,
  queue_position integer,
  slot_id uuid,
  slot_name varchar,
  local_date date,
  expected_at timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_until timestamptz;
  v_user uuid;
  v_queue uuid[];
  v_not_before timestamptz[];
  v_done boolean[];
  v_left integer;
  v_played jsonb;
  v_rule record;
  v_tick timestamptz;
  v_take integer[];
  v_i integer;
begin
  v_until := upload_scheduler_private.check_instant(p_now, 'p_now') + upload_scheduler_private.check_horizon(p_horizon);

  for v_user in
    select x.id
    from unnest(upload_scheduler_private.users_in_scope(p_user_id)) as x (id)
    where exists (select 1 from public.videos v where v.user_id = x.id and v.status = 'initiate')
    order by x.id
  loop
    select array_agg(v.id order by v.queue_priority desc, v.created_at, v.id), array_agg(v.not_before order by v.queue_priority desc, v.created_at, v.id)
      into v_queue, v_not_before
    from public.videos v where v.user_id = v_user and v.status = 'initiate';
    v_done := array_fill(false, array[cardinality(v_queue)]);
    v_left := cardinality(v_queue);
    v_played := '[]';
    -- Ticks run at whole minutes: the first at or after p_now.
    v_tick := date_trunc('minute', p_now) + case when p_now > date_trunc('minute', p_now) then interval '1 minute' else interval '0' end;

    while v_left > 0 and v_tick < v_until loop
      select c.* into v_rule from upload_scheduler_private.claimable(array[v_user], v_tick, v_played) c;
      -- The claim takes the oldest videos whose not_before has come, as many as the room.
      v_take := case when v_rule.room > 0 then array(
        select q.i from generate_subscripts(v_queue, 1) as q (i)
        where not v_done[q.i] and (v_not_before[q.i] is null or v_not_before[q.i] <= v_tick)
        order by q.i
        limit v_rule.room) else '{}' end;
      if cardinality(v_take) > 0 then
        return query
          select v_queue[q.i], v_user, q.i, v_rule.slot_id, v_rule.slot_name, v_rule.local_date, v_tick
          from unnest(v_take) as q (i);
        foreach v_i in array v_take loop
          v_done[v_i] := true;
        end loop;
        v_left := v_left - cardinality(v_take);
        select v_played || jsonb_agg(jsonb_build_object(
                 'user_id', v_user, 'local_date', v_rule.local_date, 'start_time', v_rule.start_time,
                 'end_time', v_rule.end_time, 'taken_at', v_tick))
          into v_played
        from unnest(v_take);
        v_tick := v_tick + interval '1 minute';
      else
        -- The next tick at or after the rule's next_at, or, with room but nothing eligible yet, the
        -- first not_before to come (and at least a minute on).
        v_tick := greatest(v_tick + interval '1 minute',
                           case when v_rule.room > 0
                                then (select min(v_not_before[q.i]) from generate_subscripts(v_queue, 1) as q (i) where not v_done[q.i])
                                else v_rule.next_at end);
        v_tick := date_trunc('minute', v_tick) + case when v_tick > date_trunc('minute', v_tick) then interval '1 minute' else interval '0' end;
      end if;
    end loop;

    -- Videos that do not fit in the horizon.
    return query
      select v_queue[q.i], v_user, q.i, null::uuid, null::varchar, null::date, null::timestamptz
      from generate_subscripts(v_queue, 1) as q (i)
      where not v_done[q.i];
  end loop;
end;
$$;

comment on function upload_scheduler.upcoming_uploads(uuid, interval, timestamptz) is
  E'The forecast: every waiting (initiate) video of one user (or of all), with its queue_position, the slot, local date and the tick (whole minute, at or after p_now) that will claim it if every earlier upload succeeds, played with the claim''s own rule (today''s use, date exceptions, pause, hold, pacing, not_before, daylight saving time and the owner''s zone included). Videos that do not fit in p_horizon have NULLs. Changes nothing.';
