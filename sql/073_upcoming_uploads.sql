-- The forecast: the tick that will claim each waiting video, if every earlier upload succeeds
-- and nothing else changes. It walks the user's slot windows in time order and plays the
-- tick's rules at whole minutes: the first tick at or after p_now in an open window claims as
-- many videos as the room allows (date exceptions applied, today's use counted); a paced slot
-- takes one per tick, min_interval after the last claim; nothing while the user is paused.
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
set jit = off
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
  v_until timestamptz;
  v_user public.users;
  v_queue uuid[];
  v_next integer;
  v_window record;
  v_state jsonb;
  v_key text;
  v_used integer;
  v_last timestamptz;
  v_tick timestamptz;
  v_take integer;
begin
  v_until := upload_scheduler_private.check_instant(p_now, 'p_now') + upload_scheduler_private.check_horizon(p_horizon);
  if p_user_id is not null then
    perform upload_scheduler_private.user_time_zone(p_user_id);
  end if;

  for v_user in
    select u.* from public.users u
    where (p_user_id is null or u.id = p_user_id) and (v_scope is null or u.id = v_scope)
      and exists (select 1 from public.videos v where v.user_id = u.id and v.status = 'initiate')
    order by u.id
  loop
    select array_agg(v.id order by v.created_at, v.id) into v_queue
    from public.videos v where v.user_id = v_user.id and v.status = 'initiate';
    v_next := 1;
    v_state := '{}';

    for v_window in
      select s.id as slot_id, s.slot_name, s.min_interval, w.local_date, w.opens_at, w.closes_at,
             upload_scheduler_private.effective_quota(s.user_id, s.id, w.local_date, s.max_uploads) as quota,
             c.used, c.last_claim_at
      from public.upload_schedules s
      cross join lateral upload_scheduler_private.slot_windows(v_user.time_zone, s.day, s.start_time, s.end_time, p_now, v_until) w
      left join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = w.local_date
      where s.user_id = v_user.id and s.is_active and w.opens_at is not null
      order by w.opens_at
    loop
      exit when v_next > cardinality(v_queue);
      -- A date's use and last claim carry over between its pieces (the repeated hour of a
      -- clocks-go-back day), so they are kept per slot and date.
      v_key := v_window.slot_id || '/' || v_window.local_date;
      v_used := coalesce((v_state->v_key->>'used')::int, v_window.used, 0);
      v_last := coalesce((v_state->v_key->>'last')::timestamptz, v_window.last_claim_at);
      -- The first tick (whole minute) at or after the window opens, p_now and the pause's end.
      v_tick := greatest(v_window.opens_at, p_now,
                         case when v_user.uploads_paused_until > p_now then v_user.uploads_paused_until end);
      v_tick := date_trunc('minute', v_tick) + case when v_tick > date_trunc('minute', v_tick) then interval '1 minute' else interval '0' end;
      loop
        if v_window.min_interval is not null and v_last is not null and v_tick < v_last + v_window.min_interval then
          v_tick := v_last + v_window.min_interval;
          v_tick := date_trunc('minute', v_tick) + case when v_tick > date_trunc('minute', v_tick) then interval '1 minute' else interval '0' end;
        end if;
        exit when v_tick >= v_window.closes_at or v_tick >= v_until or v_used >= v_window.quota or v_next > cardinality(v_queue);
        v_take := case when v_window.min_interval is null
                       then least(v_window.quota - v_used, cardinality(v_queue) - v_next + 1) else 1 end;
        return query
          select q.id, v_user.id, (v_next + q.n - 1)::int, v_window.slot_id, v_window.slot_name, v_window.local_date, v_tick
          from unnest(v_queue[v_next:v_next + v_take - 1]) with ordinality as q (id, n);
        v_next := v_next + v_take;
        v_used := v_used + v_take;
        v_last := v_tick;
        -- Unpaced, the first tick takes all the room there is.
        exit when v_window.min_interval is null;
        v_tick := v_tick + interval '1 minute';
      end loop;
      v_state := v_state || jsonb_build_object(v_key, jsonb_build_object('used', v_used, 'last', v_last));
    end loop;

    -- Videos that do not fit in the horizon.
    return query
      select q.id, v_user.id, (v_next + q.n - 1)::int, null::uuid, null::varchar, null::date, null::timestamptz
      from unnest(v_queue[v_next:]) with ordinality as q (id, n);
  end loop;
end;
$$;

comment on function upload_scheduler.upcoming_uploads(uuid, interval, timestamptz) is
  E'The forecast: every waiting (initiate) video of one user (or of all), in queue order, with the slot, local date and the tick (whole minute, at or after p_now) that will claim it if every earlier upload succeeds: today''s use, date exceptions, pause, pacing, daylight saving time and the owner''s zone included. Videos that do not fit in p_horizon have NULLs. Changes nothing.';
