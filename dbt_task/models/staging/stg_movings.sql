with movings as (
    select
        id as moving_id,
        tenant_id,
        apartment_id,
        room_id,
        {{ clean_date('movein_date') }} as movein_date,
        {{ clean_date('movein_decided_date') }} as contract_date,
        {{ clean_date('original_movein_date') }} as original_movein_date,
        {{ clean_date('rent_start_date') }} as rent_start_date,
        {{ clean_date('expiration_date') }} as expiration_date,
        {{ clean_date('moveout_receipt_date') }} as moveout_notice_date,
        {{ clean_date('moveout_date') }} as final_rent_date,
        {{ clean_date('moveout_plans_date') }} as moveout_plans_date,
        {{ clean_date('moveout_date_integrated') }} as moveout_date_integrated,
        moving_agreement_type as contract_type_code,
        rent,
        condo_fee,
        administrative_fee,
        {{ flag('cancel_flag') }} as is_cancelled,
        {{ flag('is_moveout') }} as is_moved_out,
        {{ flag('move_renew_flag') }} as is_renewal,
        created_at,
        updated_at
    from {{ source('gghouse', 'movings') }}
)

select
    movings.*,
    -- the business rule's move-out date: integrated, else actual, else final rent date
    coalesce(moveout_date_integrated, moveout_plans_date, final_rent_date) as moveout_date
from movings
