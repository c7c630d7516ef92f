-- Occupancy can be neither negative nor above 100%, for a property or the portfolio; the
-- dump date's partition (every date with var full_history_tests).
select 'property' as level, snapshot_date, apartment_id, occupancy_rate
from {{ ref('occupancy_property_daily') }}
where {{ dump_date_scope('snapshot_date') }}
  and (occupancy_rate < 0 or occupancy_rate > 1)
union all
select 'portfolio', snapshot_date, null, occupancy_rate
from {{ ref('occupancy_daily') }}
where {{ dump_date_scope('snapshot_date') }}
  and (occupancy_rate < 0 or occupancy_rate > 1)
