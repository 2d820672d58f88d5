--! Previous: sha1:5660c3fc5e91d333695aadcc8aeef9a6048e22ef
--! Hash: sha1:d964755b8f7c680b984a414518c17a0b0492d039
--! Message: private schema

-- Internal functions (helpers, trigger functions, the shared claim statement) live apart
-- from the API, so that \df upload_scheduler.* in psql lists only what a user calls.
create schema if not exists upload_scheduler_private;
comment on schema upload_scheduler_private is
  E'Internal helpers of the upload scheduler: trigger functions and the shared claim. Call the functions of schema upload_scheduler instead.';
