with

source as (
    select * from {{ source('gghouse', 'movings') }}
),

renamed as (
    select
        -- ids
        id as moving_id,
        tenant_id,
        apartment_id,
        room_id,
        -- movings.moving_agreement_type; the tenant's own tenants.contract_type is
        -- stg_tenants.contract_type_code (the same code table, a different column)
        moving_agreement_type as agreement_type_code,

        -- numerics
        rent,
        condo_fee,
        administrative_fee,

        -- dates
        cast({{ clean_date('movein_decided_date') }} as date) as contract_date,
        {{ clean_date('movein_date') }} as movein_date,
        {{ clean_date('original_movein_date') }} as original_movein_date,
        {{ clean_date('rent_start_date') }} as rent_start_date,
        {{ clean_date('expiration_date') }} as expiration_date,
        {{ clean_date('moveout_receipt_date') }} as moveout_notice_date,
        {{ clean_date('moveout_date') }} as final_rent_date,
        {{ clean_date('moveout_plans_date') }} as moveout_plans_date,
        {{ clean_date('moveout_date_integrated') }} as moveout_date_integrated,
        -- the business rule's move-out date: integrated, else actual, else final rent date
        coalesce(
            {{ clean_date('moveout_date_integrated') }},
            {{ clean_date('moveout_plans_date') }},
            {{ clean_date('moveout_date') }}
        ) as moveout_date,

        -- flags
        {{ flag('cancel_flag') }} as is_cancelled,
        {{ flag('is_moveout') }} as is_moved_out,
        {{ flag('move_renew_flag') }} as is_renewal,

        -- timestamps
        created_at,
        updated_at
    from source
)

select * from renamed
