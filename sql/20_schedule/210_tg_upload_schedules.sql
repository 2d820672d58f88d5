-- A slot row. Its rules are the table's: CHECK constraints (weekday, times, quota, pacing, name
-- length) and the exclusion constraint upload_schedules_no_overlap, each mapped to the product's
-- error in rule_messages. This trigger does what no declaration can: stores the weekday
-- lowercase, names the slot an overlap meets (the constraint itself can only name keys), checks
-- the user and the tenant, keeps ids and owners, and marks the owner due, which takes the owner's
-- due row: claims write it too, so a claim sees the schedule either before a change or after it.
create or replace function upload_scheduler_private.tg_upload_schedules__validate()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_other public.upload_schedules;
  v_label text;
begin
  if tg_op = 'DELETE' then
    perform upload_scheduler_private.mark_due(array[old.user_id]);
    return old;
  end if;

  if new.id is null then
    perform upload_scheduler_private.refuse('upload_schedules_id_not_null', '');
  end if;
  if tg_op = 'UPDATE' and new.id <> old.id then
    perform upload_scheduler_private.refuse('upload_schedules_id_immutable', format('%s (to %s)', old.id, new.id));
  end if;
  if tg_op = 'UPDATE' and new.user_id is distinct from old.user_id then
    perform upload_scheduler_private.refuse('upload_schedules_user_immutable',
      format('%s of user %s (to %s)', old.id, old.user_id, coalesce(new.user_id::text, 'NULL')));
  end if;
  if new.user_id is null then
    perform upload_scheduler_private.refuse('upload_schedules_user_id_not_null', '');
  end if;
  -- A user of another tenant is reported as missing (nothing about it leaks).
  if not exists (select 1 from public.users u where u.id = new.user_id)
     or new.user_id <> coalesce(upload_scheduler_private.acting_user_id(), new.user_id) then
    perform upload_scheduler_private.refuse('upload_schedules_user_exists', new.user_id::text);
  end if;
  -- Serialise slot changes of one user (two sessions cannot each add one half of an overlap at
  -- READ COMMITTED), and changes with the user's claims; the next tick looks at the user.
  perform upload_scheduler_private.mark_due(array[new.user_id]);

  new.day := upload_scheduler_private.normalize_weekday(new.day);
  v_label := format('%s-%s on %s', coalesce(new.start_time::text, 'NULL'), coalesce(new.end_time::text, 'NULL'), new.day);
  -- Columns that are NOT NULL would get PostgreSQL's bare 23502: the product's error instead.
  if new.start_time is null then
    perform upload_scheduler_private.refuse('upload_schedules_start_time_not_null', v_label);
  end if;
  if new.end_time is null then
    perform upload_scheduler_private.refuse('upload_schedules_end_time_not_null', v_label);
  end if;
  if new.max_uploads is null then
    perform upload_scheduler_private.refuse('upload_schedules_max_uploads_not_null', format(' (slot %s)', v_label));
  end if;
  if new.is_active is null then
    perform upload_scheduler_private.refuse('upload_schedules_is_active_not_null', v_label);
  end if;
  if new.created_at is null then
    perform upload_scheduler_private.refuse('upload_schedules_created_at_not_null', v_label);
  end if;

  -- The exclusion constraint keeps the rule; this names the slot it meets, for the message.
  if new.is_active and new.start_time < new.end_time then
    select s.* into v_other
    from public.upload_schedules s
    where s.user_id = new.user_id and s.day = new.day and s.is_active and s.id <> new.id
      and int4range(extract(epoch from s.start_time)::int, extract(epoch from s.end_time)::int, '[]')
          && int4range(extract(epoch from new.start_time)::int, extract(epoch from new.end_time)::int, '[]')
    order by s.start_time
    limit 1;
    if found then
      perform upload_scheduler_private.refuse('upload_schedules_no_overlap',
        format('%s overlaps slot %s (%s-%s) of the same user (id %s)', v_label,
               coalesce(quote_literal(v_other.slot_name), v_other.id::text), v_other.start_time, v_other.end_time, v_other.id));
    end if;
  end if;
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_upload_schedules__validate() is
  E'Trigger: stores day lowercase (UPDAY for an unknown weekday), refuses missing values, an unknown user (UPNUS), a changed id or user_id (UPIMM) and overlapping active slots (UPOVL, naming the slot met); the table''s CHECK constraints hold the other rules. Marks the owner due (taking its due row''s lock).';

create or replace trigger tg_upload_schedules__validate
  before insert or update or delete on public.upload_schedules
  for each row execute function upload_scheduler_private.tg_upload_schedules__validate();

-- Deleted slots: their claims that never started go back to the queue (their places given back);
-- uploads and uploaded videos keep their places, which any slot later created at an overlapping
-- time sees (places are keyed by window, not by slot). Their date exceptions go with them.
create or replace function upload_scheduler_private.tg_upload_schedules__deleted()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.give_back(
    array(select v.id from public.videos v join old_rows o on o.id = v.slot_id where v.status = 'pending'), now());
  delete from public.upload_schedule_exceptions e using old_rows o where e.slot_id = o.id;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_upload_schedules__deleted() is
  E'Trigger: when slots are deleted, their pending (never started) claims go back to the queue and give their places back, and their date exceptions are deleted.';

create or replace trigger tg_upload_schedules__deleted
  after delete on public.upload_schedules
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_upload_schedules__deleted();
