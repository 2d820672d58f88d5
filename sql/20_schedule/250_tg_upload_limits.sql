-- A platform's limit on a user's uploads (public.upload_limits). Its ranges are CHECK constraints
-- of the table; this trigger checks what needs other rows or the catalog (the user, the tenant,
-- the time zone) and, like a slot change, marks the owner due (taking its due row's lock), so a
-- claim sees the limit before or after the change, never half of it, and a limit lifted is
-- acted on at the next tick.
create or replace function upload_scheduler_private.tg_upload_limits__validate()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'DELETE' then
    perform upload_scheduler_private.mark_due(array[old.user_id]);
    return old;
  end if;
  if tg_op = 'UPDATE' and (new.id is distinct from old.id or new.user_id is distinct from old.user_id) then
    perform upload_scheduler_private.refuse('upload_limits_immutable',
      format('%s of limit %s', case when new.id is distinct from old.id then 'id' else 'user' end, old.id));
  end if;
  if new.user_id is not null then
    if not exists (select 1 from public.users u where u.id = new.user_id)
       or new.user_id <> coalesce(upload_scheduler_private.acting_user_id(), new.user_id) then
      perform upload_scheduler_private.refuse('upload_limits_user_exists', new.user_id::text);
    end if;
    perform upload_scheduler_private.mark_due(array[new.user_id]);
  end if;
  if new.time_zone is not null then
    perform upload_scheduler_private.assert_known_time_zone(new.time_zone);
  end if;
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_upload_limits__validate() is
  E'Trigger: a limit needs an existing user of the session''s tenant (UPNUS) and a known time zone (UPTZN); its id and user never change (UPIMM); any change marks the user due.';

create or replace trigger tg_upload_limits__validate
  before insert or update or delete on public.upload_limits
  for each row execute function upload_scheduler_private.tg_upload_limits__validate();

-- Each of a user's limits at p_now: the claims in its window (places held: pending, uploading,
-- uploaded; p_extra adds the forecast's simulated ones) and when it next frees a claim.
create or replace function upload_scheduler_private.limit_usage(p_user_id uuid, p_now timestamptz, p_extra jsonb default null)
returns table (limit_id uuid, max_uploads integer, per interval, time_zone text, window_start timestamptz, used integer, frees_at timestamptz)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
-- As day_facts: each lookup (the user's limits, its places by taken_at) is an index probe
-- whatever the tables' statistics say; test/tick.linear-plans.test.ts fails without this (a
-- quiet ledger, vacuumed, is read whole for every user). This function calls nothing that plans.
set enable_seqscan = off
as $$
begin
  return query
  with lim as (
    select l.id, l.max_uploads, l.per, l.time_zone,
           -- The first instant counted: a rolling window is (p_now - per, p_now], a calendar one
           -- [its midnight, p_now] (timestamps are whole microseconds).
           case when l.time_zone is null then p_now - l.per + interval '1 microsecond'
                else upload_scheduler_private.earliest_instant(l.time_zone, w.start_date::timestamp) end as since,
           case when l.time_zone is not null
                then upload_scheduler_private.earliest_instant(l.time_zone, (w.start_date + w.days)::timestamp) end as until
    from public.upload_limits l
    cross join lateral (
      select (p_now at time zone coalesce(l.time_zone, 'UTC'))::date as local_date,
             greatest(1, (extract(epoch from l.per) / 86400)::integer) as days
    ) d
    cross join lateral (
      -- Calendar windows of n days are aligned on Monday 3 January 2000 (one day: each midnight).
      select d.local_date - ((d.local_date - date '2000-01-03') % d.days) as start_date, d.days
    ) w
    where l.user_id = p_user_id
  )
  select lim.id, lim.max_uploads, lim.per, lim.time_zone, lim.since, u.used,
         -- Full: a rolling window frees a claim when it moves past its oldest one (a lower bound of
         -- when the count drops below the limit), a calendar one when the next window starts.
         case when u.used >= lim.max_uploads then coalesce(lim.until, u.oldest + lim.per, p_now + lim.per) end
  from lim
  cross join lateral (
    select count(*)::int as used, min(c.taken_at) as oldest
    from (
      select p.taken_at from upload_scheduler.places p
      where p.user_id = p_user_id and p.released_at is null and p.taken_at >= lim.since and p.taken_at <= p_now
      union all
      select (j->>'taken_at')::timestamptz
      from jsonb_array_elements(coalesce(p_extra, '[]')) j
      where (j->>'user_id')::uuid = p_user_id and (j->>'taken_at')::timestamptz >= lim.since and (j->>'taken_at')::timestamptz <= p_now
    ) c
  ) u
  order by lim.id;
end;
$$;

comment on function upload_scheduler_private.limit_usage(uuid, timestamptz, jsonb) is
  E'Internal: each limit of the user at p_now: its window''s first counted instant, the claims in it (places held: pending, uploading, uploaded; plus p_extra''s simulated ones) and, when full, when it frees a claim.';

-- What the rule (claimable) reads: the room the user's limits leave (the least of them), when
-- the full ones all free a claim, and a note naming each full limit. No row: no limit.
create or replace function upload_scheduler_private.limits_room(p_user_id uuid, p_now timestamptz, p_extra jsonb default null)
returns table (room integer, next_at timestamptz, note text)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return query
  select min(greatest(u.max_uploads - u.used, 0))::integer,
         max(u.frees_at),
         string_agg(format('limit: %s of %s %s (until %s)', u.used, u.max_uploads,
                           case when u.time_zone is null then 'in any ' || u.per::text
                                else format('per %s from midnight in %s', u.per, u.time_zone) end, u.frees_at), '; ' order by u.limit_id)
           filter (where u.frees_at is not null)
  from upload_scheduler_private.limit_usage(p_user_id, p_now, p_extra) u
  having count(*) > 0;
end;
$$;

comment on function upload_scheduler_private.limits_room(uuid, timestamptz, jsonb) is
  E'Internal: the room a user''s limits (public.upload_limits) leave at p_now (the least over its limits; no row when it has none), when the full ones all free a claim, and a note naming each full limit.';

-- For psql and the dashboard: every limit of a user (or of every user the session may act
-- for), how much of it is used at p_now, and until when a full one holds the user's claims.
create or replace function upload_scheduler.limit_status(p_user_id uuid default null, p_now timestamptz default now())
returns table (
  user_id uuid,
  limit_id uuid,
  max_uploads integer,
  per interval,
  time_zone text,
  used integer,
  room integer,
  holds_until timestamptz,
  note text
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  return query
  select x.id, u.limit_id, u.max_uploads, u.per, u.time_zone, u.used, greatest(u.max_uploads - u.used, 0), u.frees_at, l.note
  from unnest(upload_scheduler_private.users_in_scope(p_user_id)) as x (id)
  cross join lateral upload_scheduler_private.limit_usage(x.id, p_now) u
  join public.upload_limits l on l.id = u.limit_id
  order by x.id, u.limit_id;
end;
$$;

comment on function upload_scheduler.limit_status(uuid, timestamptz) is
  E'Every limit (public.upload_limits) of p_user_id, or of every user the session may act for: the claims in its window at p_now (pending, uploading, uploaded), the room left, and, when it is full, until when it holds the user''s claims (holds_until). Changes nothing.';
