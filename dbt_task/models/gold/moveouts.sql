{{ config(
    post_hook=[
        "{{ ensure_index(this, ['moveout_date']) }}",
        "{{ ensure_index(this, ['apartment_id', 'moveout_date']) }}",
    ]
) }}

-- Move-outs (non-cancelled contracts with a move-out date) with the tenant's reason.
select
    m.moving_id,
    m.tenant_id,
    m.apartment_id,
    m.room_id,
    m.movein_date,
    m.moveout_notice_date,
    m.moveout_date,
    datediff(m.moveout_date, m.movein_date) as stay_days,
    t.moveout_reason_code,
    reason.label_ja as moveout_reason_label_ja,
    reason.label_en as moveout_reason_label_en,
    case when m.moveout_date > {{ dump_date_literal() }} then 0 else 1 end as is_completed
from {{ ref('stg_movings') }} as m
left join {{ ref('stg_tenants') }} as t on t.tenant_id = m.tenant_id
left join {{ ref('code_moveout_reason') }} as reason on reason.code = t.moveout_reason_code
where m.is_cancelled = 0
  and m.moveout_date is not null
