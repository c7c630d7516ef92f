{{ config(
    materialized='incremental',
    tags=['daily_snapshot'],
    pre_hook=["{{ replace_snapshot_partition('snapshot_date') }}"],
    post_hook=["{{ ensure_index(this, ['snapshot_date', 'apartment_id']) }}"]
) }}

-- Occupying tenants on the dump date: a status whose code_tenant_status.is_active_lease is
-- 1 (the one definition; an unknown code is not occupying), joined to the tenant's current
-- contract (tenants.moving_id), which is neither moved out nor cancelled. Other open
-- contracts of the tenant are history. If the source still yields two contracts for one
-- tenant and room, the latest (highest moving_id) is kept.
with

occupying as (
    select
        t.tenant_id,
        m.apartment_id,
        m.room_id,
        m.moving_id,
        t.status_code,
        ts.label_ja as status_label_ja,
        ts.label_en as status_label_en,
        m.agreement_type_code,
        m.movein_date,
        m.moveout_date,
        m.rent,
        row_number() over (
            partition by t.tenant_id, m.apartment_id, m.room_id
            order by m.moving_id desc
        ) as contract_rank
    from {{ ref('stg_tenants') }} as t
    inner join {{ ref('code_tenant_status') }} as ts on ts.code = t.status_code
    inner join {{ ref('stg_movings') }} as m on m.moving_id = t.current_moving_id
    where {{ is_occupying('ts') }}
      and m.is_moved_out = 0
      and m.is_cancelled = 0
),

snapshot as (
    select
        {{ dump_date_literal() }} as snapshot_date,
        tenant_id,
        apartment_id,
        room_id,
        moving_id,
        status_code as tenant_status_code,
        status_label_ja as tenant_status_label_ja,
        status_label_en as tenant_status_label_en,
        agreement_type_code,
        movein_date,
        moveout_date,
        rent
    from occupying
    where contract_rank = 1
)

select * from snapshot
{% if is_incremental() %}
where {{ snapshot_increment_filter('snapshot_date') }}
{% endif %}
