{{ config(
    post_hook=[
        "{{ ensure_index(this, ['tenant_id']) }}",
        "{{ ensure_index(this, ['apartment_id', 'room_id']) }}",
    ]
) }}

-- One row per contract of the newest dump, with its property, room, tenant and labels.
select
    m.moving_id,
    m.tenant_id,
    m.apartment_id,
    m.room_id,
    a.apartment_name,
    r.room_number,
    t.full_name as tenant_name,
    t.status_code as tenant_status_code,
    ts.label_ja as tenant_status_label_ja,
    ts.label_en as tenant_status_label_en,
    m.contract_type_code,
    ct.label_ja as contract_type_label_ja,
    ct.label_en as contract_type_label_en,
    ct.tenant_type,
    m.contract_date,
    m.movein_date,
    m.original_movein_date,
    m.rent_start_date,
    m.expiration_date,
    m.moveout_notice_date,
    m.moveout_date,
    m.rent,
    m.condo_fee,
    m.administrative_fee,
    m.is_cancelled,
    m.is_moved_out,
    m.is_renewal,
    case when t.current_moving_id = m.moving_id then 1 else 0 end as is_current_contract
from {{ ref('stg_movings') }} as m
left join {{ ref('stg_tenants') }} as t on t.tenant_id = m.tenant_id
left join {{ ref('stg_apartments') }} as a on a.apartment_id = m.apartment_id
left join {{ ref('stg_rooms') }} as r on r.room_id = m.room_id
left join {{ ref('code_tenant_status') }} as ts on ts.code = t.status_code
left join {{ ref('code_contract_type') }} as ct on ct.code = m.contract_type_code
