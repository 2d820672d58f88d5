create or replace function upload_scheduler.pause_uploads(
  p_user_id uuid,
  p_until timestamptz default 'infinity',
  p_reason text default null,
  p_now timestamptz default now()
)
returns public.users
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user public.users;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.user_time_zone(p_user_id);
  if p_until is null or p_until <= p_now then
    raise exception 'p_until % is not after p_now %.', coalesce(p_until::text, 'NULL'), p_now
      using errcode = 'UPARG',
            hint = 'Pause until a later instant, e.g. ''2026-12-07 00:00+05:30'', or leave p_until out to pause until resume_uploads.';
  end if;
  update public.users u set uploads_paused_until = p_until, pause_reason = p_reason
  where u.id = p_user_id
  returning u.* into v_user;
  return v_user;
end;
$$;

comment on function upload_scheduler.pause_uploads(uuid, timestamptz, text, timestamptz) is
  E'Nothing of the user is claimed until p_until (default: until resume_uploads); uploads already running finish. The pause ends by itself at p_until. Sets users.uploads_paused_until and pause_reason.';

create or replace function upload_scheduler.resume_uploads(p_user_id uuid)
returns public.users
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user public.users;
begin
  perform upload_scheduler_private.user_time_zone(p_user_id);
  update public.users u set uploads_paused_until = null, pause_reason = null
  where u.id = p_user_id
  returning u.* into v_user;
  return v_user;
end;
$$;

comment on function upload_scheduler.resume_uploads(uuid) is
  E'Ends the user''s pause now: the next tick claims as usual.';
