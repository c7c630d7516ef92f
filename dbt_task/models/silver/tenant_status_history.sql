{{ config(
    materialized='incremental',
    unique_key=['tenant_id', 'valid_from'],
    tags=['daily_snapshot'],
    pre_hook=[
        "{{ status_history_reset('delete') }}",
        "{{ status_history_reset('reopen') }}",
    ],
    post_hook=[
        "{{ status_history_reset('days') }}",
        "{{ ensure_index(this, ['tenant_id', 'valid_from']) }}",
        "{{ ensure_index(this, ['valid_from']) }}",
        "{{ ensure_index(this, ['valid_to', 'tenant_id', 'valid_from', 'is_current']) }}",
        "{{ ensure_index(this, ['is_current', 'status_code', 'tenant_id', 'valid_from', 'contract_type_code']) }}",
    ]
) }}

-- SCD type 2 over tenant_status_daily. An interval starts at a tenant's first observation
-- and wherever status or contract type differs from its previous observation; it ends the
-- day before the next interval starts (so intervals neither overlap nor leave gaps), or
-- stays open (is_current) as the tenant's last one, also when the tenant is absent from
-- later dumps. days_in_status counts valid_from..valid_to (or the latest dump) inclusive.
--
-- Daily run (incremental, the dump date D is the newest): only D's observations and the
-- open intervals are read. The pre-hooks first undo an earlier run of D (intervals starting
-- on D deleted, those closed on D - 1 reopened: macros/status_history.sql); then an open
-- interval whose (status, contract type) differs from D's observation is closed on D - 1
-- and a new one opens on D: only those rows are written (they replace their (tenant_id,
-- valid_from) keys); a post-hook then sets days_in_status of every open interval up to D
-- in place (no index holds it). The cost follows the day's changes and the number of
-- tenants, not the days of history. Indexes: the open intervals are read from a covering
-- index leading with (is_current, status_code) (also the dashboards' "current status"
-- read), the tests' scope (valid_to is null or >= D - 1) from one leading with valid_to,
-- the pre-hooks' predicates from (valid_from) and (valid_to, ...).
--
-- First build, backfill or full refresh: the whole history from every observation (a
-- backfilled date in the middle splits or merges exactly the intervals around it; every
-- other interval comes out identical).
{% set daily = is_incremental() and not var('backfill') %}

with

{% if daily %}

observed_today as (
    select tenant_id, status_code, contract_type_code
    from {{ ref('tenant_status_daily') }}
    where snapshot_date = {{ dump_date_literal() }}
),

open_intervals as (
    select tenant_id, valid_from, status_code, contract_type_code
    from {{ this }}
    where is_current = 1
),

compared as (
    select
        o.tenant_id,
        o.valid_from,
        o.status_code,
        o.contract_type_code,
        case
            when t.tenant_id is null then 0
            when t.status_code <=> o.status_code
             and t.contract_type_code <=> o.contract_type_code then 0
            else 1
        end as is_changed
    from open_intervals as o
    left join observed_today as t on t.tenant_id = o.tenant_id
),

intervals as (
    -- open intervals whose (status, contract type) differs from D's: closed on D - 1
    select
        tenant_id,
        valid_from,
        date_sub({{ dump_date_literal() }}, interval 1 day) as valid_to,
        status_code,
        contract_type_code
    from compared
    where is_changed = 1
    union all
    -- new intervals from D: a changed tenant, or one never seen before
    select t.tenant_id, {{ dump_date_literal() }}, null, t.status_code, t.contract_type_code
    from observed_today as t
    left join compared as c on c.tenant_id = t.tenant_id
    where c.tenant_id is null or c.is_changed = 1
),

latest as (
    select {{ dump_date_literal() }} as latest_dump_date
),

{% else %}

observed as (
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
        tenant_id,
        valid_from,
        date_sub(
            lead(valid_from) over (partition by tenant_id order by valid_from),
            interval 1 day
        ) as valid_to,
        status_code,
        contract_type_code
    from starts
),

latest as (
    select max(snapshot_date) as latest_dump_date from {{ ref('tenant_status_daily') }}
),

{% endif %}

labelled as (
    select
        i.tenant_id,
        i.valid_from,
        i.valid_to,
        case when i.valid_to is null then 1 else 0 end as is_current,
        i.status_code,
        {{ code_label('i.status_code', 'ts.label_ja') }} as status_label_ja,
        {{ code_label('i.status_code', 'ts.label_en') }} as status_label_en,
        coalesce(ts.is_active_lease, 0) as is_active_lease,
        i.contract_type_code,
        {{ code_label('i.contract_type_code', 'ct.label_ja') }} as contract_type_label_ja,
        {{ code_label('i.contract_type_code', 'ct.label_en') }} as contract_type_label_en,
        {{ code_label('i.contract_type_code', 'ct.tenant_type') }} as tenant_type,
        datediff(coalesce(i.valid_to, latest.latest_dump_date), i.valid_from) + 1
            as days_in_status
    from intervals as i
    cross join latest
    left join {{ ref('code_tenant_status') }} as ts on ts.code = i.status_code
    left join {{ ref('code_contract_type') }} as ct on ct.code = i.contract_type_code
)

select * from labelled
