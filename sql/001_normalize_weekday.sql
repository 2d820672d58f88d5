-- Accepts a weekday in any case (and with stray spaces) and returns it lowercase; rejects anything else.
create or replace function upload_scheduler_private.normalize_weekday(p_day text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_day text := lower(btrim(p_day));
begin
  if v_day is null or v_day not in ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday') then
    raise exception 'Unknown weekday %.', coalesce(quote_literal(p_day), 'NULL')
      using errcode = 'UPDAY',
            hint = 'Use an English weekday name: monday, tuesday, wednesday, thursday, friday, saturday or sunday (any case).';
  end if;
  return v_day;
end;
$$;

comment on function upload_scheduler_private.normalize_weekday(text) is
  E'Returns the weekday lowercase (''Monday'' -> ''monday''); raises UPDAY for anything that is not an English weekday.';
