{{ config(
    materialized='incremental',
    tags=['daily_snapshot'],
    pre_hook=["{{ replace_snapshot_partition('snapshot_date') }}"],
    post_hook=["{{ ensure_index(this, ['snapshot_date', 'tenant_id']) }}"]
) }}

-- One (status, contract type) observation per tenant per dump date: the input of the
-- status history. contract_type_code is tenants.contract_type.
with

observations as (
    select
        {{ dump_date_literal() }} as snapshot_date,
        tenant_id,
        status_code,
        contract_type_code
    from {{ ref('stg_tenants') }}
)

select * from observations
{% if is_incremental() %}
where {{ snapshot_increment_filter('snapshot_date') }}
{% endif %}
