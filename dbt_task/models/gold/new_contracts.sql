{{ config(
    post_hook=[
        "{{ ensure_index(this, ['contract_date']) }}",
        "{{ ensure_index(this, ['apartment_id', 'contract_date']) }}",
    ]
) }}

-- New contracts (not renewals) by contract date, with who signed them.
with

contracts as (
    select * from {{ ref('int_contracts') }}
    where is_renewal = 0
      and contract_date is not null
),

new_contracts as (
    select
        c.moving_id,
        c.tenant_id,
        c.apartment_id,
        c.room_id,
        c.agreement_type_code,
        c.agreement_type_label_ja,
        c.agreement_type_label_en,
        c.tenant_type,
        c.gender_code,
        {{ code_label('c.gender_code', 'gender.label_en') }} as gender_label_en,
        c.nationality,
        c.affiliation_type_code,
        {{ code_label('c.affiliation_type_code', 'affiliation.label_en') }}
            as affiliation_type_label_en,
        c.rent,
        c.contract_date,
        c.movein_date,
        c.is_cancelled
    from contracts as c
    left join {{ ref('code_gender') }} as gender on gender.code = c.gender_code
    left join {{ ref('code_affiliation_type') }} as affiliation
        on affiliation.code = c.affiliation_type_code
)

select * from new_contracts
