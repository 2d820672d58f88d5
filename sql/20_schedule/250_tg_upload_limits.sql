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

drop function if exists upload_scheduler_private.limits_room(uuid, timestamptz, jsonb);
drop function if exists upload_scheduler_private.limit_usage(uuid, timestamptz, jsonb);

-- Each limit of these users at p_now, in one statement: the claims in its window (places held:
-- pending, uploading, uploaded; p_extra adds the forecast's simulated ones) and when it next
-- frees a claim.
create or replace function upload_scheduler_private.limit_usage(p_user_ids uuid[], p_now timestamptz, p_extra jsonb default null)
returns table (user_id uuid, limit_id uuid, max_uploads integer, per interval, time_zone text, window_start timestamptz, used integer, frees_at timestamptz)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
-- As day_facts: each lookup (the users' limits, their places by taken_at) is an index probe
-- whatever the tables' statistics say; test/tick.linear-plans.test.ts fails without this (a
-- quiet ledger, vacuumed, is read whole for every user). This function calls nothing that plans.
set enable_seqscan = off
as $$
begin
  return query
  with lims as materialized (
    select l.user_id, l.id, l.max_uploads, l.per, l.time_zone
    from unnest(p_user_ids) as x (id)
    join public.upload_limits l on l.user_id = x.id
  ),
  -- Each distinct window once (a handful: users share zones and lengths), not once per limit.
  windows as materialized (
    select k.per, k.time_zone,
           -- The first instant counted: a rolling window is (p_now - per, p_now], a calendar one
           -- [its midnight, p_now] (timestamps are whole microseconds).
           case when k.time_zone is null then p_now - k.per + interval '1 microsecond'
                else upload_scheduler_private.local_start(k.time_zone, w.start_date::timestamp) end as since,
           case when k.time_zone is not null
                then upload_scheduler_private.local_start(k.time_zone, (w.start_date + w.days)::timestamp) end as until
    from (select distinct l.per, l.time_zone from lims l) k
    cross join lateral (
      select (p_now at time zone coalesce(k.time_zone, 'UTC'))::date as local_date,
             greatest(1, (extract(epoch from k.per) / 86400)::integer) as days
    ) d
    cross join lateral (
      -- Calendar windows of n days are aligned on Monday 3 January 2000 (one day: each midnight).
      select d.local_date - ((d.local_date - date '2000-01-03') % d.days) as start_date, d.days
    ) w
  ),
  lim as (
    select l.user_id, l.id, l.max_uploads, l.per, l.time_zone, w.since, w.until
    from lims l
    join windows w on w.per = l.per and w.time_zone is not distinct from l.time_zone
  )
  select lim.user_id, lim.id, lim.max_uploads, lim.per, lim.time_zone, lim.since, (p.used + coalesce(e.used, 0))::integer,
         -- Full: a rolling window frees a claim when it moves past its oldest one (a lower bound of
         -- when the count drops below the limit), a calendar one when the next window starts.
         case when p.used + coalesce(e.used, 0) >= lim.max_uploads
              then coalesce(lim.until, least(p.oldest, e.oldest) + lim.per, p_now + lim.per) end
  from lim
  cross join lateral (
    select count(*) as used, min(q.taken_at) as oldest
    from upload_scheduler.places q
    where q.user_id = lim.user_id and q.released_at is null and q.taken_at >= lim.since and q.taken_at <= p_now
  ) p
  left join lateral (
    select count(*) as used, min((j->>'taken_at')::timestamptz) as oldest
    from jsonb_array_elements(p_extra) j
    where (j->>'user_id')::uuid = lim.user_id and (j->>'taken_at')::timestamptz >= lim.since and (j->>'taken_at')::timestamptz <= p_now
  ) e on p_extra is not null
  order by lim.user_id, lim.id;
end;
$$;

comment on function upload_scheduler_private.limit_usage(uuid[], timestamptz, jsonb) is
  E'Internal: each limit of these users at p_now, in one statement: its window''s first counted instant, the claims in it (places held: pending, uploading, uploaded; plus p_extra''s simulated ones) and, when full, when it frees a claim.';

-- What the rule (claimable) reads, for the users that have limits: the room their limits leave
-- (the least of them), when the full ones all free a claim, and a note naming each full limit.
create or replace function upload_scheduler_private.limits_room(p_user_ids uuid[], p_now timestamptz, p_extra jsonb default null)
returns table (user_id uuid, room integer, next_at timestamptz, note text)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  -- Most claims are for users without limits: nothing to count.
  if coalesce(cardinality(p_user_ids), 0) = 0 then
    return;
  end if;
  return query
  select u.user_id, min(greatest(u.max_uploads - u.used, 0))::integer,
         max(u.frees_at),
         string_agg(format('limit: %s of %s %s (until %s)', u.used, u.max_uploads,
                           case when u.time_zone is null then 'in any ' || u.per::text
                                else format('per %s from midnight in %s', u.per, u.time_zone) end, u.frees_at), '; ' order by u.limit_id)
           filter (where u.frees_at is not null)
  from upload_scheduler_private.limit_usage(p_user_ids, p_now, p_extra) u
  group by u.user_id;
end;
$$;

comment on function upload_scheduler_private.limits_room(uuid[], timestamptz, jsonb) is
  E'Internal: for each of these users that has limits (public.upload_limits), the room they leave at p_now (the least over its limits), when the full ones all free a claim, and a note naming each full limit.';

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
  select u.user_id, u.limit_id, u.max_uploads, u.per, u.time_zone, u.used, greatest(u.max_uploads - u.used, 0), u.frees_at, l.note
  from upload_scheduler_private.limit_usage(upload_scheduler_private.users_in_scope(p_user_id), p_now) u
  join public.upload_limits l on l.id = u.limit_id
  order by u.user_id, u.limit_id;
end;
$$;

comment on function upload_scheduler.limit_status(uuid, timestamptz) is
  E'Every limit (public.upload_limits) of p_user_id, or of every user the session may act for: the claims in its window at p_now (pending, uploading, uploaded), the room left, and, when it is full, until when it holds the user''s claims (holds_until). Changes nothing.';
