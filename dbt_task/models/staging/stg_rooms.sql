select
    id as room_id,
    apartment_id,
    {{ clean_text('room_number') }} as room_number,
    rent,
    condo_fee,
    room_floor,
    capacity,
    gender_type as gender_code,
    {{ clean_text('bed_type') }} as bed_type,
    status as room_status_code,
    moving_id as current_moving_id,
    created_at,
    updated_at
from {{ source('gghouse', 'rooms') }}
