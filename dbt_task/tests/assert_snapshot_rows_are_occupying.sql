-- Only occupying statuses (code_tenant_status.is_active_lease = 1) make snapshot rows;
-- the dump date's partition (every date with var full_history_tests).
select s.snapshot_date, s.tenant_id, s.tenant_status_code
from {{ ref('tenant_room_snapshot_daily') }} as s
left join {{ ref('code_tenant_status') }} as ts on ts.code = s.tenant_status_code
where {{ dump_date_scope('s.snapshot_date') }}
  and not ({{ is_occupying('ts') }})
