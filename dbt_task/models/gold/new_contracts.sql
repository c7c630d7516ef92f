{{ config(
    post_hook=[
        "{{ ensure_index(this, ['contract_date']) }}",
        "{{ ensure_index(this, ['apartment_id', 'contract_date']) }}",
    ]
) }}

-- New contracts (not renewals) by contract date, with who signed them.
select
    m.moving_id,
    m.contract_date,
    m.movein_date,
    m.tenant_id,
    m.apartment_id,
    m.room_id,
    m.rent,
    m.contract_type_code,
    ct.label_ja as contract_type_label_ja,
    ct.label_en as contract_type_label_en,
    ct.tenant_type,
    t.gender_code,
    gender.label_en as gender_label_en,
    t.nationality,
    t.affiliation_type_code,
    affiliation.label_en as affiliation_type_label_en,
    m.is_cancelled
from {{ ref('stg_movings') }} as m
left join {{ ref('stg_tenants') }} as t on t.tenant_id = m.tenant_id
left join {{ ref('code_contract_type') }} as ct on ct.code = m.contract_type_code
left join {{ ref('code_gender') }} as gender on gender.code = t.gender_code
left join {{ ref('code_affiliation_type') }} as affiliation
    on affiliation.code = t.affiliation_type_code
where m.is_renewal = 0
  and m.contract_date is not null
