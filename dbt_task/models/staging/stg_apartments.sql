with

source as (
    select * from {{ source('gghouse', 'apartments') }}
),

renamed as (
    select
        -- ids
        id as apartment_id,
        unique_number as property_code,

        -- strings
        {{ clean_text('apartment_name') }} as apartment_name,
        {{ clean_text('apartment_name_en') }} as apartment_name_en,
        {{ clean_text('prefecture') }} as prefecture,
        {{ clean_text('municipality') }} as municipality,
        {{ clean_text('address') }} as address,
        {{ clean_text('zip_code') }} as zip_code,

        -- numerics
        cast(latitude as decimal(10, 7)) as latitude,
        cast(longitude as decimal(10, 7)) as longitude,
        room_count as declared_room_count,
        vacancy_room_count as declared_vacant_room_count,

        -- timestamps
        created_at,
        updated_at
    from source
)

select * from renamed
