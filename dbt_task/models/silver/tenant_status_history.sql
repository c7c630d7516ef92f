{{ config(
    tags=['daily_snapshot'],
    post_hook=[
        "{{ ensure_index(this, ['tenant_id', 'valid_from']) }}",
        "{{ ensure_index(this, ['is_current', 'status_code']) }}",
    ]
) }}

-- SCD type 2 over tenant_status_daily. An interval starts at a tenant's first observation
-- and wherever status or contract type differs from its previous observation; it ends the
-- day before the next interval starts (so intervals neither overlap nor leave gaps), or
-- stays open (is_current) as the tenant's last one, also when the tenant is absent from
-- later dumps. days_in_status counts valid_from..valid_to (or the latest dump) inclusive.
with observed as (
    select
        tenant_id,
        snapshot_date,
        status_code,
        contract_type_code,
        lag(status_code) over (partition by tenant_id order by snapshot_date) as previous_status,
        lag(contract_type_code) over (partition by tenant_id order by snapshot_date)
            as previous_contract_type,
        row_number() over (partition by tenant_id order by snapshot_date) as observation
    from {{ ref('tenant_status_daily') }}
),

starts as (
    select tenant_id, snapshot_date as valid_from, status_code, contract_type_code
    from observed
    where observation = 1
       or not (status_code <=> previous_status)
       or not (contract_type_code <=> previous_contract_type)
),

intervals as (
    select
        starts.*,
        date_sub(
            lead(valid_from) over (partition by tenant_id order by valid_from),
            interval 1 day
        ) as valid_to
    from starts
),

latest as (
    select max(snapshot_date) as latest_dump_date from {{ ref('tenant_status_daily') }}
)

select
    i.tenant_id,
    i.valid_from,
    i.valid_to,
    case when i.valid_to is null then 1 else 0 end as is_current,
    i.status_code,
    ts.label_ja as status_label_ja,
    ts.label_en as status_label_en,
    ts.is_active_lease,
    i.contract_type_code,
    ct.label_ja as contract_type_label_ja,
    ct.label_en as contract_type_label_en,
    ct.tenant_type,
    datediff(coalesce(i.valid_to, latest.latest_dump_date), i.valid_from) + 1 as days_in_status
from intervals as i
cross join latest
left join {{ ref('code_tenant_status') }} as ts on ts.code = i.status_code
left join {{ ref('code_contract_type') }} as ct on ct.code = i.contract_type_code
