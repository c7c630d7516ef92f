with

source as (
    select * from {{ source('gghouse', 'tenants') }}
),

renamed as (
    select
        -- ids
        id as tenant_id,
        moving_id as current_moving_id,
        inquiry_id,
        media_id,
        m_nationality_id as nationality_id,
        status as status_code,
        contract_type as contract_type_code,
        gender_type as gender_code,
        affiliation_type as affiliation_type_code,
        personal_identity as personal_identity_code,
        reason_moveout as moveout_reason_code,

        -- strings
        {{ clean_text('full_name') }} as full_name,
        {{ clean_text('last_name') }} as last_name,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('nationality') }} as nationality,
        {{ clean_text('affiliation') }} as affiliation,

        -- numerics
        age,

        -- dates
        {{ clean_date('birth_date') }} as birth_date,

        -- timestamps
        created_at,
        updated_at
    from source
)

select * from renamed
