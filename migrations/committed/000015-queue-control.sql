--! Previous: sha1:c5a71dd78b39e130ecd1c3e56a24a3b3dadf326e
--! Hash: sha1:1b1544e571900d6ca0c6ce00bdf727d583db73a0
--! Message: queue control

-- Queue control: a video can be moved to the head of its user's queue without rewriting its
-- created_at (queue_priority: the claim takes the highest first, then the oldest), and a waiting
-- video can be withdrawn, its reason on record (failed, last_outcome 'withdrawn', never retried
-- by the sweep; retry_video brings it back).

alter table public.videos add column queue_priority integer not null default 0;
comment on column public.videos.queue_priority is
  E'The claim takes a user''s waiting videos by queue_priority (highest first), then created_at, then id. 0 unless move_to_front raised it.';

create index videos_queue_idx on public.videos (user_id, queue_priority desc, created_at, id) where status = 'initiate';

alter table public.videos drop constraint videos_last_outcome_check;
alter table public.videos
  add constraint videos_last_outcome_check
    check (last_outcome in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late',
                            'retry_later', 'needs_reconnect', 'permanent', 'unknown', 'withdrawn')
           or last_outcome is null
           or upload_scheduler_private.refuse('videos_last_outcome_check', quote_literal(last_outcome)));
