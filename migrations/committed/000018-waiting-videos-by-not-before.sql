--! Previous: sha1:d6c89f45b95d0ea29d201e00738473de7d01ad03
--! Hash: sha1:49adaa2fc45083988454ab8b688f546ccbc4db95
--! Message: waiting videos by not before

-- The waiting videos that carry a not_before, by user and not_before: the due bookkeeping reads
-- each claimed user's earliest one in one index probe (it read every waiting video of the user:
-- a tick cost grew with the length of the queues). Partial: a video without a not_before, most
-- of them, is not in it and costs it nothing.
create index if not exists videos_not_before_idx on public.videos (user_id, not_before)
  where status = 'initiate' and not_before is not null;
