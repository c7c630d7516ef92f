{{ config(
    materialized='incremental',
    tags=['daily_snapshot'],
    pre_hook=["{{ replace_snapshot_partition('snapshot_date') }}"],
    post_hook=["{{ ensure_index(this, ['snapshot_date']) }}"]
) }}

-- Portfolio occupancy per snapshot date: all occupied rooms / all rooms.
with properties as (
    select *
    from {{ ref('occupancy_property_daily') }}
    where snapshot_date = {{ dump_date_literal() }}
),

daily as (
    select
        {{ dump_date_literal() }} as snapshot_date,
        count(*) as property_count,
        coalesce(sum(room_count), 0) as room_count,
        coalesce(sum(occupied_room_count), 0) as occupied_room_count,
        cast(
            case when sum(room_count) > 0
                then cast(sum(occupied_room_count) as decimal(18, 6)) / sum(room_count) end
            as decimal(9, 6)
        ) as occupancy_rate
    from properties
)

select * from daily
{% if is_incremental() %}
where {{ snapshot_increment_filter('snapshot_date') }}
{% endif %}
