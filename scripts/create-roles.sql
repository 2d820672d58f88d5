-- The upload scheduler's two group roles, for a database whose owner may not create roles.
-- Run once per PostgreSQL server, as a superuser (or a role with CREATEROLE):
--   psql "$ADMIN_DATABASE_URL" -f scripts/create-roles.sql
-- then `npm run db:migrate` (as the schema's owner) grants them what they need.
-- See docs/integrity-and-roles.md, "Roles and tenants".
do $$
begin
  if to_regrole('upload_scheduler_worker') is null then
    create role upload_scheduler_worker nologin;
  end if;
  if to_regrole('upload_scheduler_app') is null then
    create role upload_scheduler_app nologin;
  end if;
end;
$$;
comment on role upload_scheduler_worker is 'The upload scheduler''s runner: ticks, starts and finishes uploads; reads everything, writes nothing directly.';
comment on role upload_scheduler_app is 'An application acting for one user of the upload scheduler at a time (set upload_scheduler.user_id).';

-- Login roles are yours to create, each granted one group role. Settings given to a group role
-- do not reach its members, so give each login role its limits itself: an application's open
-- transaction then holds its own user's rows for a minute at most, and delays no one else longer.
--   create role acme_app login password '…' in role upload_scheduler_app;
--   alter role acme_app set idle_in_transaction_session_timeout = '1min';
--   alter role acme_app set statement_timeout = '30s';
--   create role uploader login password '…' in role upload_scheduler_worker;
-- (The worker sets its own timeouts on its connections.)
