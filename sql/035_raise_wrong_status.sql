-- The one error of every function that needs a video in a given state.
create or replace function upload_scheduler_private.raise_wrong_status(
  p_video_id uuid,
  p_expected text,
  p_function text
)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
set jit = off
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
