with

source as (
    select * from {{ source('gghouse', 'inquiries') }}
),

renamed as (
    select
        -- ids
        id as inquiry_id,
        tenant_id,

        -- dates
        cast({{ clean_date('created_at') }} as date) as inquiry_date,

        -- timestamps
        created_at,
        updated_at
    from source
)

select * from renamed
