-- A slot's quota on a local date: a date exception for that slot, else one for the whole day
-- of its user, else the slot's max_uploads. Set-based queries (the claim, the trigger on
-- videos) inline the same lookup as a LATERAL probe of the exceptions' unique index.
create or replace function upload_scheduler_private.effective_quota(
  p_user_id uuid,
  p_slot_id uuid,
  p_local_date date,
  p_max_uploads integer
)
returns integer
language sql
stable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
  select coalesce(
    (select e.max_uploads
     from public.upload_schedule_exceptions e
     where e.user_id = p_user_id and e.local_date = p_local_date and (e.slot_id = p_slot_id or e.slot_id is null)
     order by e.slot_id nulls last
     limit 1),
    p_max_uploads)
$$;

comment on function upload_scheduler_private.effective_quota(uuid, uuid, date, integer) is
  E'The quota of a slot on a local date: its date exception, else its user''s whole-day exception, else p_max_uploads (the slot''s own).';
