-- No daily partition may be dated after the dump being processed (snapshots are stamped
-- with the dump's date, never the clock). A backfill is older than the newest partition by
-- definition, so the check applies to normal runs.
{% if not var('backfill') %}
select 'tenant_room_snapshot_daily' as model, snapshot_date
from {{ ref('tenant_room_snapshot_daily') }} where snapshot_date > {{ dump_date_literal() }}
union all
select 'tenant_status_daily', snapshot_date
from {{ ref('tenant_status_daily') }} where snapshot_date > {{ dump_date_literal() }}
union all
select 'occupancy_property_daily', snapshot_date
from {{ ref('occupancy_property_daily') }} where snapshot_date > {{ dump_date_literal() }}
union all
select 'occupancy_daily', snapshot_date
from {{ ref('occupancy_daily') }} where snapshot_date > {{ dump_date_literal() }}
{% else %}
select 1 as backfill_run from {{ ref('occupancy_daily') }} where 1 = 0
{% endif %}
