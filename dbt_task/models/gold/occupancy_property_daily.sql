{{ config(
    materialized='incremental',
    tags=['daily_snapshot'],
    pre_hook=["{{ replace_snapshot_partition('snapshot_date') }}"],
    post_hook=[
        "{{ ensure_index(this, ['snapshot_date']) }}",
        "{{ ensure_index(this, ['apartment_id', 'snapshot_date']) }}",
    ]
) }}

-- Per property and snapshot date: rooms of the property (rooms.apartment_id), rooms with at
-- least one occupying row that day (a room in turnover counts once), and their ratio.
-- A property without rooms has no rate (null), not 0 and not 1.
with rooms as (
    select room_id, apartment_id from {{ ref('stg_rooms') }}
),

occupied as (
    select distinct room_id
    from {{ ref('tenant_room_snapshot_daily') }}
    where snapshot_date = {{ dump_date_literal() }}
),

per_property as (
    select
        rooms.apartment_id,
        count(*) as room_count,
        count(occupied.room_id) as occupied_room_count
    from rooms
    left join occupied on occupied.room_id = rooms.room_id
    group by rooms.apartment_id
),

daily as (
    select
        {{ dump_date_literal() }} as snapshot_date,
        a.apartment_id,
        a.apartment_name,
        a.municipality,
        coalesce(p.room_count, 0) as room_count,
        coalesce(p.occupied_room_count, 0) as occupied_room_count,
        cast(
            case when p.room_count > 0
                then cast(p.occupied_room_count as decimal(18, 6)) / p.room_count end
            as decimal(9, 6)
        ) as occupancy_rate
    from {{ ref('stg_apartments') }} as a
    left join per_property as p on p.apartment_id = a.apartment_id
)

select * from daily
{% if is_incremental() %}
where {{ snapshot_increment_filter('snapshot_date') }}
{% endif %}
