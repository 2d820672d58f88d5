--! Previous: sha1:478480f442b61c145f4cc72ddeb8b28aa60216e4
--! Hash: sha1:68e5d70c7368b573e26b52e914b701ca2ea9761f
--! Message: tick log

-- The last ticks, as run_tick records them itself: when, what they did, how long they took.
-- Kept for a day (run_tick prunes older rows); upload_scheduler.health and the worker's /readyz
-- read it.
create table upload_scheduler.ticks (
  id bigint generated always as identity primary key,
  at timestamptz not null,
  finished_at timestamptz not null,
  duration_ms double precision not null,
  claimed integer not null,
  interrupted integer not null,
  retried integer not null,
  stale_reset integer not null
);
create index ticks_at_idx on upload_scheduler.ticks (at);
comment on table upload_scheduler.ticks is
  E'One row per run_tick in the last day: at (its p_now), what it claimed and recovered, and its duration. Pruned by run_tick.';
