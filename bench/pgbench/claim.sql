-- pgbench script (run by bench/run.ts): one find_next_video_to_upload for a random user of bench/data.ts; -D users=U.
\set r random(1, :users)
select upload_scheduler.find_next_video_to_upload(('00000000-0000-4000-8000-' || lpad(to_hex(:r::int), 12, '0'))::uuid, '2026-11-30T10:00:00Z');
