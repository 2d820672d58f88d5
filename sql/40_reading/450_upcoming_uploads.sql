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
  v_next integer;
  v_played jsonb;
  v_rule record;
  v_tick timestamptz;
  v_take integer;
begin
  v_until := upload_scheduler_private.check_instant(p_now, 'p_now') + upload_scheduler_private.check_horizon(p_horizon);

  for v_user in
    select x.id
    from unnest(upload_scheduler_private.users_in_scope(p_user_id)) as x (id)
    where exists (select 1 from public.videos v where v.user_id = x.id and v.status = 'initiate')
    order by x.id
  loop
    select array_agg(v.id order by v.created_at, v.id) into v_queue
    from public.videos v where v.user_id = v_user and v.status = 'initiate';
    v_next := 1;
    v_played := '[]';
    -- Ticks run at whole minutes: the first at or after p_now.
    v_tick := date_trunc('minute', p_now) + case when p_now > date_trunc('minute', p_now) then interval '1 minute' else interval '0' end;

    while v_next <= cardinality(v_queue) and v_tick < v_until loop
      select c.* into v_rule from upload_scheduler_private.claimable(array[v_user], v_tick, v_played) c;
      if v_rule.room > 0 then
        v_take := least(v_rule.room, cardinality(v_queue) - v_next + 1);
        return query
          select q.id, v_user, (v_next + q.n - 1)::int, v_rule.slot_id, v_rule.slot_name, v_rule.local_date, v_tick
          from unnest(v_queue[v_next:v_next + v_take - 1]) with ordinality as q (id, n);
        select v_played || jsonb_agg(jsonb_build_object(
                 'user_id', v_user, 'local_date', v_rule.local_date, 'start_time', v_rule.start_time,
                 'end_time', v_rule.end_time, 'taken_at', v_tick))
          into v_played
        from generate_series(1, v_take);
        v_next := v_next + v_take;
        v_tick := v_tick + interval '1 minute';
      else
        -- The next tick at or after the rule's next_at (and at least a minute on).
        v_tick := greatest(v_tick + interval '1 minute', v_rule.next_at);
        v_tick := date_trunc('minute', v_tick) + case when v_tick > date_trunc('minute', v_tick) then interval '1 minute' else interval '0' end;
      end if;
    end loop;

    -- Videos that do not fit in the horizon.
    return query
      select q.id, v_user, (v_next + q.n - 1)::int, null::uuid, null::varchar, null::date, null::timestamptz
      from unnest(v_queue[v_next:]) with ordinality as q (id, n);
  end loop;
end;
$$;

comment on function upload_scheduler.upcoming_uploads(uuid, interval, timestamptz) is
  E'The forecast: every waiting (initiate) video of one user (or of all), in queue order, with the slot, local date and the tick (whole minute, at or after p_now) that will claim it if every earlier upload succeeds, played with the claim''s own rule (today''s use, date exceptions, pause, pacing, daylight saving time and the owner''s zone included). Videos that do not fit in p_horizon have NULLs. Changes nothing.';
