-- The upload scheduler's two group roles, for a database whose owner may not create roles.
-- Run once per PostgreSQL server, as a superuser (or a role with CREATEROLE):
--   psql "$ADMIN_DATABASE_URL" -f scripts/create-roles.sql
-- then `npm run db:migrate` (as the schema's owner) grants them what they need.
-- See README.md, "Roles and tenants".
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
