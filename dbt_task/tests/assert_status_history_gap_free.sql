-- Per tenant, each interval starts the day after the previous one ends (no gap, no
-- overlap), exactly the last one is open, and every interval ends on or after it starts.
-- A daily run checks the intervals the dump date touched (open ones and those closed on
-- D - 1); var full_history_tests checks all of them.
with ordered as (
    select
        tenant_id,
        valid_from,
        valid_to,
        is_current,
        lag(valid_to) over (partition by tenant_id order by valid_from) as previous_valid_to,
        row_number() over (partition by tenant_id order by valid_from desc) as from_last
    from {{ ref('tenant_status_history') }}
    {%- if not var('full_history_tests') %}
    where valid_to is null
       or valid_to >= date_sub({{ dump_date_literal() }}, interval 1 day)
    {%- endif %}
)

select tenant_id, valid_from, valid_to, previous_valid_to, 'gap or overlap' as problem
from ordered
where previous_valid_to is not null
  and valid_from <> date_add(previous_valid_to, interval 1 day)
union all
select tenant_id, valid_from, valid_to, previous_valid_to, 'open interval is not the last'
from ordered
where (from_last = 1) <> (valid_to is null) or (is_current = 1) <> (valid_to is null)
union all
select tenant_id, valid_from, valid_to, previous_valid_to, 'ends before it starts'
from ordered
where valid_to < valid_from
