{{ config(
    post_hook=[
        "{{ ensure_index(this, ['tenant_id']) }}",
        "{{ ensure_index(this, ['apartment_id', 'room_id']) }}",
    ]
) }}

-- One row per contract of the newest dump with its property, room, tenant and labels: the
-- base the contract-level gold models (moveouts, new_contracts) build on. A dangling tenant,
-- room or property keeps the contract (left joins; the staging tests warn about it). The
-- move-out reason is the tenant's reason_moveout only on the tenant's current contract
-- (tenants.moving_id): the source keeps one reason per tenant, so an earlier contract of
-- the same tenant has no known reason (NULL), never the later one's.
with

contracts as (
    select * from {{ ref('stg_movings') }}
),

tenants as (
    select * from {{ ref('stg_tenants') }}
),

joined as (
    select
        -- ids
        c.moving_id,
        c.tenant_id,
        c.apartment_id,
        c.room_id,
        c.agreement_type_code,
        t.status_code as tenant_status_code,
        case when t.current_moving_id = c.moving_id then t.moveout_reason_code end
            as moveout_reason_code,
        t.gender_code,
        t.affiliation_type_code,

        -- strings
        a.apartment_name,
        r.room_number,
        t.full_name as tenant_name,
        t.nationality,
        {{ code_label('t.status_code', 'ts.label_ja') }} as tenant_status_label_ja,
        {{ code_label('t.status_code', 'ts.label_en') }} as tenant_status_label_en,
        {{ code_label('c.agreement_type_code', 'ct.label_ja') }} as agreement_type_label_ja,
        {{ code_label('c.agreement_type_code', 'ct.label_en') }} as agreement_type_label_en,
        {{ code_label('c.agreement_type_code', 'ct.tenant_type') }} as tenant_type,

        -- numerics
        c.rent,
        c.condo_fee,
        c.administrative_fee,

        -- dates
        c.contract_date,
        c.movein_date,
        c.original_movein_date,
        c.rent_start_date,
        c.expiration_date,
        c.moveout_notice_date,
        c.moveout_date,

        -- flags
        c.is_cancelled,
        c.is_moved_out,
        c.is_renewal,
        case when t.current_moving_id = c.moving_id then 1 else 0 end as is_current_contract
    from contracts as c
    left join tenants as t on t.tenant_id = c.tenant_id
    left join {{ ref('stg_apartments') }} as a on a.apartment_id = c.apartment_id
    left join {{ ref('stg_rooms') }} as r on r.room_id = c.room_id
    left join {{ ref('code_tenant_status') }} as ts on ts.code = t.status_code
    left join {{ ref('code_contract_type') }} as ct on ct.code = c.agreement_type_code
)

select * from joined
