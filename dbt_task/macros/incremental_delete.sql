{#
  Overrides dbt-mysql's incremental_delete (root-project macros win over the adapter's):
  its `where (k1, k2) in (select k1, k2 from tmp)` is not answered from the (tenant_id,
  valid_from) index on MariaDB and scans the whole target every day (measured:
  tenant_status_history 0.7 s at 30 days, 3.8 s at 365). A multi-table DELETE joined on
  the unique key is an index lookup per written row on both engines.
#}
{% macro incremental_delete(tmp_relation, target_relation, unique_key=none, statement_name="pre_main") %}
    {%- if unique_key is not none and unique_key | length -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    delete {{ target_relation }}
    from {{ target_relation }}
    inner join {{ tmp_relation }} as written
    on {% for key in keys %}{{ 'and ' if not loop.first }}{{ target_relation }}.{{ key }} = written.{{ key }} {% endfor %}
    {%- endif %}
{%- endmacro %}
