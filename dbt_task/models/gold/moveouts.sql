{{ config(
    post_hook=[
        "{{ ensure_index(this, ['moveout_date']) }}",
        "{{ ensure_index(this, ['apartment_id', 'moveout_date']) }}",
    ]
) }}

-- Move-outs (non-cancelled contracts with a move-out date) with that contract's move-out
-- reason (int_contracts: the tenant's reason applies to the tenant's current contract only;
-- an earlier contract's reason is unknown to the source, NULL here).
with

contracts as (
    select * from {{ ref('int_contracts') }}
    where is_cancelled = 0
      and moveout_date is not null
),

moveouts as (
    select
        c.moving_id,
        c.tenant_id,
        c.apartment_id,
        c.room_id,
        c.moveout_reason_code,
        {{ code_label('c.moveout_reason_code', 'reason.label_ja') }} as moveout_reason_label_ja,
        {{ code_label('c.moveout_reason_code', 'reason.label_en') }} as moveout_reason_label_en,
        c.movein_date,
        c.moveout_notice_date,
        c.moveout_date,
        datediff(c.moveout_date, c.movein_date) as stay_days,
        case when c.moveout_date > {{ dump_date_literal() }} then 0 else 1 end as is_completed
    from contracts as c
    left join {{ ref('code_moveout_reason') }} as reason on reason.code = c.moveout_reason_code
)

select * from moveouts
