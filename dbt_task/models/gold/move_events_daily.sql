{{ config(
    post_hook=[
        "{{ ensure_index(this, ['event_date']) }}",
        "{{ ensure_index(this, ['apartment_id', 'event_date']) }}",
    ]
) }}

-- Move-ins (movein_date) and move-outs (the rule's moveout_date) of non-cancelled contracts,
-- per day and property, from the newest dump; days after the dump date are planned moves.
with events as (
    select movein_date as event_date, apartment_id, 1 as move_in, 0 as move_out
    from {{ ref('stg_movings') }}
    where is_cancelled = 0 and movein_date is not null
    union all
    select moveout_date as event_date, apartment_id, 0 as move_in, 1 as move_out
    from {{ ref('stg_movings') }}
    where is_cancelled = 0 and moveout_date is not null
)

select
    event_date,
    apartment_id,
    sum(move_in) as move_ins,
    sum(move_out) as move_outs,
    sum(move_in) - sum(move_out) as net_moves,
    case when event_date > {{ dump_date_literal() }} then 1 else 0 end as is_planned
from events
group by event_date, apartment_id
