with

source as (
    select * from {{ source('gghouse', 'rooms') }}
),

renamed as (
    select
        -- ids
        id as room_id,
        apartment_id,
        moving_id as current_moving_id,
        gender_type as gender_code,
        status as room_status_code,

        -- strings
        {{ clean_text('room_number') }} as room_number,
        {{ clean_text('bed_type') }} as bed_type,

        -- numerics
        rent,
        condo_fee,
        room_floor,
        capacity,

        -- timestamps
        created_at,
        updated_at
    from source
)

select * from renamed
