-- Every room occupied on the dump date exists in rooms (of that dump).
select s.snapshot_date, s.tenant_id, s.room_id
from {{ ref('tenant_room_snapshot_daily') }} as s
left join {{ ref('stg_rooms') }} as r on r.room_id = s.room_id
where s.snapshot_date = {{ dump_date_literal() }}
  and r.room_id is null
