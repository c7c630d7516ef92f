-- Only occupying statuses (var occupying_tenant_statuses) make snapshot rows.
select snapshot_date, tenant_id, tenant_status_code
from {{ ref('tenant_room_snapshot_daily') }}
where tenant_status_code not in {{ occupying_statuses() }}
