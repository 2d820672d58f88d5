-- The product's errors, in one place: every SQLSTATE the scheduler raises with its kind, and
-- the message and hint of every named rule (a CHECK constraint, or a rule a trigger states).
-- Rows are upserted, so a message can be improved without a migration.

insert into upload_scheduler.error_codes (code, kind, meaning) values
  ('UPDAY', 'input', 'A weekday is not an English weekday name.'),
  ('UPTIM', 'input', 'A slot''s times are missing, reversed, fractional, or end at 24:00:00.'),
  ('UPQTA', 'input', 'A quota (max_uploads) is missing or negative.'),
  ('UPTZN', 'input', 'A time zone is not a known IANA name.'),
  ('UPOVL', 'input', 'Two active slots of one user on one weekday would share a second, or a week repeats a slot.'),
  ('UPNAM', 'input', 'A slot_name is longer than 50 characters.'),
  ('UPPAC', 'input', 'A slot''s min_interval is not a positive interval under a day.'),
  ('UPJSN', 'input', 'set_schedule''s JSON is not an array of slot objects, or has an unknown key or a value of the wrong type.'),
  ('UPARG', 'input', 'A function argument or a column value is missing, out of range or not allowed.'),
  ('UPLEN', 'input', 'A text (title, reason, note, worker name, error) is too long.'),
  ('UPEXC', 'input', 'A date exception names another user''s slot, or a date that is not on its slot''s weekday.'),
  ('UPIMM', 'input', 'An id, or the owner of a slot, video or exception, would change.'),
  ('UPROW', 'input', 'A row lacks what its status implies, or its times are out of order or out of range.'),
  ('UPTRN', 'input', 'TRUNCATE of one of the scheduler''s tables.'),
  ('UPMOV', 'input', 'A status or lifecycle column written outside the scheduler''s functions, or a video inserted in another status than initiate.'),
  ('UPNUS', 'input', 'No user with that id (or it belongs to another tenant).'),
  ('UPNSL', 'input', 'No slot with that id (or it belongs to another tenant).'),
  ('UPNVD', 'input', 'No video with that id (or it belongs to another tenant): the video is gone.'),
  ('UPVSL', 'input', 'A video inserted as counted would count against another user''s slot, or on a date that is not on its slot''s weekday.'),
  ('UPFUL', 'conflict', 'A video inserted as counted would put its slot over its quota on that date.'),
  ('UPSTS', 'conflict', 'The video is not in the status this function needs: someone else moved it.'),
  ('UPSUP', 'conflict', 'That attempt is no longer the video''s running attempt: its outcome was recorded, or a later attempt runs.'),
  ('UPLSE', 'conflict', 'The lease of that attempt has run out: it may be swept as interrupted and retried, so it must stop without its irreversible step.'),
  ('UPTOK', 'tenant', 'The token does not prove that attempt: only the worker that started it can renew, checkpoint or end it.'),
  ('UPOWN', 'tenant', 'This session may not end an attempt that a worker runs.'),
  ('UPTEN', 'tenant', 'An application session has not said which user it acts for (upload_scheduler.user_id).'),
  ('UPBUG', 'bug', 'One of the scheduler''s own invariants broke: a bug to report, with the statement that raised it.')
on conflict (code) do update set kind = excluded.kind, meaning = excluded.meaning;

insert into upload_scheduler.rule_messages (name, errcode, message, hint, detail) values
  -- videos
  ('videos_status_check', 'UPROW', 'Unknown video status %s.',
   'A video''s status is one of initiate, pending, uploading, success, failed.', null),
  ('videos_attempts_check', 'UPROW', 'attempts cannot be %s.',
   'attempts counts the uploads started: 0 or more.', null),
  ('videos_waiting_is_unclaimed', 'UPROW', 'Video %s is waiting (initiate) but has a slot, a claim or upload times.',
   'A waiting video has slot_id, slot_date, claimed_at, started_at and finished_at NULL.', null),
  ('videos_pending_is_claimed', 'UPROW', 'Video %s is pending without claimed_at, or with upload times.',
   'A pending video was claimed at some instant and has not started: claim it with find_next_video_to_upload.', null),
  ('videos_uploading_is_started', 'UPROW', 'Video %s is uploading without claimed_at and started_at (and at least one attempt).',
   'Start uploads with upload_scheduler.start_upload(id), which records them.', null),
  ('videos_finished_has_finished_at', 'UPROW', 'Video %s without finished_at.',
   'Record outcomes with upload_scheduler.finish_upload, which sets finished_at.', null),
  ('videos_slot_and_date', 'UPROW', 'Video %s has only one of slot_id and slot_date.',
   'Give both (the slot it counts against and the local date) or neither.', null),
  ('videos_times_in_order', 'UPROW', 'Video %s has its times out of order: it cannot start before its claim or finish before its start.',
   'Give claimed_at <= started_at <= finished_at.', null),
  ('videos_years_check', 'UPROW', 'Video %s has a time or slot_date outside the years 1900 to 2199.',
   'Leave created_at out for now(), or give an instant within 1900 to 2199.', null),
  ('videos_last_outcome_check', 'UPROW', 'Unknown last_outcome %s.',
   'last_outcome is one of success, failed, timed_out, aborted, interrupted, stale, late, retry_later, needs_reconnect, permanent, unknown, withdrawn, or NULL.', null),
  ('videos_title_length', 'UPLEN', 'The title is %s characters long.',
   'Use at most 500 characters; put longer text in a description elsewhere.', null),
  ('videos_source_path_length', 'UPLEN', 'source_path is %s characters long.',
   'Give a file path of at most 4096 characters.', null),
  ('videos_worker_length', 'UPLEN', 'The worker name is %s characters long.',
   'A worker is named host:pid, at most 200 characters.', null),
  ('videos_last_error_length', 'UPLEN', 'last_error is %s characters long.',
   'Errors are kept to 10000 characters; the scheduler''s functions cut longer ones.', null),
  ('videos_status_not_null', 'UPROW', 'Unknown video status NULL%s.',
   'A video''s status is one of initiate, pending, uploading, success, failed; leave it out to queue the video as initiate.', null),
  ('videos_attempts_not_null', 'UPROW', 'attempts cannot be NULL%s.', 'attempts counts the uploads started: 0 or more (leave it out for 0).', null),
  ('videos_id_not_null', 'UPARG', 'videos.id is NULL%s.', 'Leave id out to get a generated one, or give a uuid.', null),
  ('videos_user_id_not_null', 'UPNUS', 'A video needs a user: user_id is NULL%s.', 'Give the id of a row of public.users (insert the user first).', null),
  ('videos_user_exists', 'UPNUS', 'No user with id %s.', 'Give the id of a row of public.users (insert the user first).', null),
  ('videos_created_at_not_null', 'UPROW', 'Video %s has no created_at.',
   'Leave created_at out for now(), or give the instant the video joined the queue (its order).', null),
  ('videos_inserted_counted_slot', 'UPNSL', 'Video %s.',
   'Give slot_id of one of the video''s user''s slots (with slot_date), or insert it as initiate and let a claim place it.', null),
  ('videos_inserted_counted_owner', 'UPVSL', 'Video %s.',
   'Use a slot of the video''s own user (select id, day, start_time from upload_schedules where user_id = …).', null),
  ('videos_inserted_counted_weekday', 'UPVSL', 'Video %s.',
   'slot_date is the local date of the claim: a date on the slot''s weekday.', null),
  ('videos_inserted_counted_full', 'UPFUL', '%s.',
   'Raise the slot''s max_uploads (or give a date exception), use another slot or date, or insert it as initiate.',
   'Videos that are pending, uploading or success count against their slot on their slot_date.'),
  ('videos_id_immutable', 'UPIMM', 'The id of video %s cannot change.',
   'Insert a new video instead (and delete this one if it should go).', 'Its upload history and its jobs refer to it by id.'),
  ('videos_user_immutable', 'UPIMM', 'Video %s cannot be given to another user.',
   'Insert a new video for the other user instead (and delete this one if it should go).', null),
  ('videos_lifecycle_by_functions', 'UPMOV', 'A plain UPDATE cannot write %s.',
   'Move videos with the scheduler''s functions: find_next_video_to_upload (claim), start_upload, finish_upload, retry_video, reset_stale_pending_videos, retry_failed_videos, fail_interrupted_uploads.',
   'The lifecycle is initiate -> pending -> uploading -> success | failed, plus pending -> initiate (stale) and failed -> initiate (retry); each move is one function, which also writes the ledger of places and the attempt history.'),
  ('places_by_functions', 'UPMOV', 'The ledger of places cannot be written by hand (%s).',
   'Places are taken by claims and given back by the lifecycle functions; to give one back, move its video (e.g. delete a pending video, or let reset_stale_pending_videos return it).',
   'Each row is a place a claim took: writing it by hand would let a slot go over its quota.'),
  ('videos_remote_length', 'UPLEN', 'The destination''s id and URL are %s characters long.', 'remote_id is kept to 500 characters, remote_url to 2000.', null),
  ('videos_bytes_check', 'UPROW', 'Bytes sent %s: a count is 0 or more.', 'Report bytes sent and the total as counts (0 or more).', null),
  ('videos_resume_state_size', 'UPLEN', 'The resumable state is %s bytes.', 'Checkpoint a small JSON (a session URL, an offset, an id): at most 64 kB.', null),
  ('videos_metadata_check', 'UPARG', 'metadata is %s: it must be a JSON object of at most 64 kB.',
   'Give an object such as {"title": "…", "description": "…", "tags": ["…"], "privacyStatus": "private", "publishAt": "2026-12-25T18:00:00Z"}.', null),
  ('videos_destination_check', 'UPARG', 'Unknown destination %s.',
   'Use builtin:tus, builtin:youtube, builtin:local, a module path, or NULL for the user''s.', null),
  ('videos_free_attempts_check', 'UPROW', 'free_attempts %s: attempts that do not count are 0 or more and no more than the attempts.',
   'Leave free_attempts to the scheduler.', null),
  ('videos_not_before_check', 'UPARG', 'not_before %s is outside the years 1900 to 2199.', 'Give an instant such as ''2026-12-25 18:00+05:30'', or NULL.', null),
  ('users_destination_check', 'UPARG', 'Unknown destination %s.', 'Use builtin:tus, builtin:youtube, builtin:local, a module path, or NULL for MEDIA_PROCESS_MODULE.', null),
  ('users_credentials_check', 'UPARG', 'credentials %s is not a name of letters, digits and _ (at most 64).',
   'Give the name of the credentials, e.g. ''ACME'': the destination reads TUS_HEADERS__ACME and the like from the environment. Never the secret itself.', null),
  ('users_held_until_check', 'UPARG', 'held_until %s is outside the years 1900 to 2199.', 'Set NULL to end the hold.', null),
  ('users_hold_reason_length', 'UPLEN', 'hold_reason is %s characters long.', 'At most 500 characters.', null),
  ('users_name_length', 'UPLEN', 'The user''s name is %s characters long.', 'At most 200 characters.', null),
  -- upload_attempts
  ('upload_attempts_outcome_check', 'UPROW', 'Unknown attempt outcome %s.',
   'An attempt ends as success, failed, timed_out, aborted, interrupted, stale, late, retry_later, needs_reconnect, permanent or unknown.', null),
  ('upload_attempts_worker_pid_check', 'UPROW', 'Worker pid %s is not a process id.', 'A worker is named host:pid.', null),
  ('upload_attempts_bytes_check', 'UPROW', 'Bytes sent %s: a count is 0 or more.', 'Report bytes sent and the total as counts (0 or more).', null),
  ('upload_attempts_times_in_order', 'UPROW', 'An attempt of video %s has its times out of order.',
   'Give claimed_at <= started_at <= finished_at.', null),
  ('upload_attempts_attempt_check', 'UPROW', 'Attempt number %s is not 1 or more.', 'Attempts are numbered from 1.', null),
  ('upload_attempts_worker_length', 'UPLEN', 'The worker name is %s characters long.', 'A worker is named host:pid, at most 200 characters.', null),
  ('upload_attempts_error_length', 'UPLEN', 'The error is %s characters long.', 'Errors are kept to 10000 characters.', null),
  -- users
  ('users_id_not_null', 'UPARG', 'users.id is NULL%s.', 'Leave id out to get a generated one, or give a uuid.', null),
  ('users_id_immutable', 'UPIMM', 'The id of user %s cannot change.',
   'Create a new user instead, and move what you need with INSERT … SELECT.', 'Videos, slots and the upload history refer to a user by its id.'),
  ('users_created_at_not_null', 'UPARG', 'users.created_at is NULL for user %s.', 'Leave created_at out for now().', null),
  ('users_created_at_check', 'UPARG', 'users.created_at %s is outside the years 1900 to 2199.', 'Leave created_at out for now().', null),
  ('users_pause_reason_length', 'UPLEN', 'pause_reason is %s characters long.', 'Say why in at most 500 characters.', null),
  ('users_paused_until_check', 'UPARG', 'uploads_paused_until %s is not an instant from 1900 to 2199 (or infinity).',
   'Pause until an instant such as ''2026-12-07 00:00+05:30'' (or ''infinity'', until resumed), or set NULL to resume.', null),
  -- upload_schedules
  ('upload_schedules_day_check', 'UPDAY', 'Unknown weekday %s.',
   'Use an English weekday name: monday, tuesday, wednesday, thursday, friday, saturday or sunday (any case).', null),
  ('upload_schedules_start_before_end', 'UPTIM', 'Slot %s ends before it starts: start_time must be before end_time.',
   'Give an end_time later than start_time, e.g. 09:00:00 to 11:59:59. For a slot across midnight, create two slots.',
   'Both ends of a slot are inclusive and a slot lies within one day.'),
  ('upload_schedules_whole_seconds', 'UPTIM', 'Slot %s has a fraction of a second.',
   'Give whole seconds, e.g. 09:00:00 to 11:59:59.', 'Slots are compared with the clock at whole seconds.'),
  ('upload_schedules_within_the_day', 'UPTIM', 'Slot %s ends at 24:00:00, the next day''s midnight.',
   'End it at 23:59:59 (and start the next day''s slot at 00:00:00 to go on past midnight).',
   'Both ends of a slot are inclusive and a slot lies within one day: the last second of a day is 23:59:59.'),
  ('upload_schedules_start_time_not_null', 'UPTIM', 'Slot %s has no start_time.',
   'Give both ends as times of day, e.g. start_time ''09:00:00'' and end_time ''11:59:59''.', null),
  ('upload_schedules_end_time_not_null', 'UPTIM', 'Slot %s has no end_time.',
   'Give both ends as times of day, e.g. start_time ''09:00:00'' and end_time ''11:59:59''.', null),
  ('upload_schedules_max_uploads_check', 'UPQTA', 'max_uploads %s is negative.',
   'Use 0 or more; 0 pauses the slot, is_active = false switches it off.', null),
  ('upload_schedules_max_uploads_not_null', 'UPQTA', 'max_uploads NULL is missing%s.',
   'Use 0 or more; 0 pauses the slot, is_active = false switches it off.', null),
  ('upload_schedules_min_interval_check', 'UPPAC', 'Slot %s, which is not positive and under a day.',
   'Give the least time between two claims into the slot on one day, e.g. ''45 minutes''; NULL for no pacing.', null),
  ('upload_schedules_slot_name_length', 'UPNAM', 'slot_name %s.', 'Use at most 50 characters, e.g. ''morning''.', null),
  ('upload_schedules_is_active_not_null', 'UPARG', 'Slot %s has is_active NULL.',
   'Use true (the slot is used) or false (it is switched off).', null),
  ('upload_schedules_created_at_not_null', 'UPARG', 'Slot %s has created_at NULL.', 'Leave created_at out for now().', null),
  ('upload_schedules_created_at_check', 'UPARG', 'Slot created_at %s is outside the years 1900 to 2199.', 'Leave created_at out for now().', null),
  ('upload_schedules_id_not_null', 'UPARG', 'upload_schedules.id is NULL%s.', 'Leave id out to get a generated one, or give a uuid.', null),
  ('upload_schedules_id_immutable', 'UPIMM', 'The id of slot %s cannot change.',
   'Change the slot''s other columns, or delete it and insert a new one.', 'Its places and date exceptions refer to it by id.'),
  ('upload_schedules_user_immutable', 'UPIMM', 'Slot %s cannot be given to another user.',
   'Insert a slot for the other user instead (and delete this one if it should go).', null),
  ('upload_schedules_user_id_not_null', 'UPNUS', 'A slot needs a user: user_id is NULL%s.', 'Give the id of a row of public.users.', null),
  ('upload_schedules_user_exists', 'UPNUS', 'No user with id %s.',
   'Insert the user first (insert into users (id) values (…)), or give the id of an existing one.', null),
  ('upload_schedules_no_overlap', 'UPOVL', 'Slot %s.',
   'Make the slots disjoint (e.g. 09:00:00-09:59:59 and 10:00:00-10:59:59), or set is_active = false on one of them.',
   'Both ends are inclusive, so 09:00-10:00 and 10:00-11:00 share 10:00:00.'),
  -- upload_schedule_exceptions
  ('upload_schedule_exceptions_date_check', 'UPARG', 'An exception needs a real local_date, not %s (dates run from 1900 to 2199).',
   'Give the date in the user''s time zone, e.g. ''2026-12-25''.', null),
  ('upload_schedule_exceptions_max_uploads_check', 'UPQTA', 'Exception max_uploads %s is negative.',
   'Use 0 for no uploads that day, or the number of uploads allowed.', null),
  ('upload_schedule_exceptions_max_uploads_not_null', 'UPQTA', 'Exception for %s: max_uploads NULL is missing.',
   'Use 0 for no uploads that day, or the number of uploads allowed.', null),
  ('upload_schedule_exceptions_note_length', 'UPLEN', 'The exception''s note is %s characters long.', 'Say why in at most 500 characters.', null),
  ('upload_schedule_exceptions_id_not_null', 'UPARG', 'upload_schedule_exceptions.id is NULL%s.', 'Leave id out to get a generated one, or give a uuid.', null),
  ('upload_schedule_exceptions_immutable', 'UPIMM', 'The %s cannot change.', 'Delete the exception and insert another one.', null),
  ('upload_schedule_exceptions_user_id_not_null', 'UPNUS', 'An exception needs a user: user_id is NULL%s.', 'Give the id of a row of public.users.', null),
  ('upload_schedule_exceptions_user_exists', 'UPNUS', 'No user with id %s.', 'Give the id of a row of public.users.', null),
  ('upload_schedule_exceptions_slot_exists', 'UPNSL', 'Exception for %s.',
   'Give one of the user''s slots, or slot_id NULL for every slot of the user that day.', null),
  ('upload_schedule_exceptions_slot_of_user', 'UPEXC', 'Exception for %s.',
   'Give one of the user''s own slots, or slot_id NULL for every slot of the user that day.', null),
  ('upload_schedule_exceptions_slot_weekday', 'UPEXC', 'Exception for %s.',
   'A slot''s exception is for a date on the slot''s weekday; for the whole day of the user, leave slot_id NULL.', null)
on conflict (name) do update
  set errcode = excluded.errcode, message = excluded.message, hint = excluded.hint, detail = excluded.detail;

-- Raises the product's error for a named rule, with the offending value. Called by CHECK
-- constraints (only when their rule is false) and by triggers.
create or replace function upload_scheduler_private.refuse(p_rule text, p_value text)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_rule upload_scheduler.rule_messages;
begin
  select r.* into v_rule from upload_scheduler.rule_messages r where r.name = p_rule;
  if not found then
    raise exception 'Rule % is broken (%), and it has no message.', p_rule, coalesce(p_value, 'NULL')
      using errcode = 'UPBUG',
            hint = 'This is a bug of the scheduler: upload_scheduler.rule_messages lacks this rule. Please report it.';
  end if;
  if v_rule.detail is null then
    raise exception '%', format(v_rule.message, coalesce(p_value, 'NULL'))
      using errcode = v_rule.errcode, hint = v_rule.hint;
  end if;
  raise exception '%', format(v_rule.message, coalesce(p_value, 'NULL'))
    using errcode = v_rule.errcode, hint = v_rule.hint, detail = v_rule.detail;
end;
$$;

comment on function upload_scheduler_private.refuse(text, text) is
  E'Raises the product''s error for the rule (a constraint''s name) from upload_scheduler.rule_messages, with the offending value in its message. Constraints call it when their rule is false.';

-- The one error of every function that needs a video in a given status.
create or replace function upload_scheduler_private.raise_wrong_status(
  p_video_id uuid,
  p_expected text,
  p_function text
)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_status text;
begin
  select v.status into v_status from public.videos v where v.id = p_video_id;
  if not found then
    raise exception 'No video with id %.', coalesce(p_video_id::text, 'NULL')
      using errcode = 'UPNVD',
            hint = 'Pass the id of a row of public.videos.';
  end if;
  raise exception 'Video % is %, not %: % cannot act on it.', p_video_id, quote_literal(v_status), quote_literal(p_expected), p_function
    using errcode = 'UPSTS',
          detail = 'The lifecycle is initiate -> pending -> uploading -> success | failed, plus pending -> initiate and failed -> initiate.',
          hint = case p_expected
            when 'pending' then 'Only a claimed (pending) video can start; claim it with find_next_video_to_upload.'
            when 'uploading' then 'Only an uploading video can finish, once; call start_upload first.'
            when 'failed' then 'Only a failed video can be retried.'
            else format('Check the video''s status first: select status from videos where id = %L.', p_video_id)
          end;
end;
$$;

comment on function upload_scheduler_private.raise_wrong_status(uuid, text, text) is
  E'Internal: raises UPNVD when the video does not exist, or UPSTS naming its status and the status p_function needed.';

insert into upload_scheduler.rule_messages (name, errcode, message, hint, detail) values
  ('upload_limits_user_id_check', 'UPNUS', 'A limit needs its user%s.', 'Give user_id, the users.id the limit is for.', null),
  ('upload_limits_max_uploads_check', 'UPQTA', 'Limit max_uploads %s is missing or negative.',
   'Give how many uploads the window allows: 0 or more (0 stops the user''s uploads while it holds).', null),
  ('upload_limits_per_check', 'UPARG', 'Limit per %s is not an interval from 1 minute to 366 days.',
   'Give the window, e.g. ''24 hours'' (rolling) or ''1 day'' with a time_zone (calendar days).', null),
  ('upload_limits_calendar_check', 'UPARG', 'Limit per %s is not a whole number of days, which a calendar window (time_zone set) needs.',
   'Use e.g. ''1 day'' or ''7 days'' with a time_zone, or leave time_zone NULL for a rolling window of any length.', null),
  ('upload_limits_note_length', 'UPLEN', 'The limit''s note is %s characters long.', 'At most 200 characters.', null)
on conflict (name) do update set errcode = excluded.errcode, message = excluded.message, hint = excluded.hint, detail = excluded.detail;

insert into upload_scheduler.rule_messages (name, errcode, message, hint, detail) values
  ('upload_limits_immutable', 'UPIMM', 'The %s cannot change.', 'Delete the limit and insert a new one.', null),
  ('upload_limits_user_exists', 'UPNUS', 'No user with id %s.', 'Give the id of a row of public.users (of the user this session acts for).', null)
on conflict (name) do update set errcode = excluded.errcode, message = excluded.message, hint = excluded.hint, detail = excluded.detail;
