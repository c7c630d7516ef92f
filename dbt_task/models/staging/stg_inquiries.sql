select
    id as inquiry_id,
    tenant_id,
    cast({{ clean_date('created_at') }} as date) as inquiry_date,
    created_at,
    updated_at
from {{ source('gghouse', 'inquiries') }}
