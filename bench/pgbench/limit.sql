-- pgbench script (run by bench/run.ts): the bare single claim for a random user, to compare with claim.sql; -D users=U.
-- It runs on bench_bare.videos, the bench's copy of public.videos with the same rows and indexes and no trigger or CHECK constraint (bench/data.ts).
\set r random(1, :users)
update bench_bare.videos set status = 'pending', claimed_at = now() where id = (select id from bench_bare.videos where user_id = ('00000000-0000-4000-8000-' || lpad(to_hex(:r::int), 12, '0'))::uuid and status = 'initiate' order by created_at, id limit 1 for update skip locked) returning id;
