{#
  Flat daily cost for tests: a test on a date-partitioned model declares
  `config: {where: "snapshot_date = __dump_date__"}` and checks the dump date's partition
  only. The placeholder is replaced here, when the test runs, by the dump date literal; with
  var full_history_tests true the filter is dropped and the test checks every date (the
  weekly or explicit full-history run: README.md). Overrides dbt's get_where_subquery.
#}
{% macro default__get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if where and not var('full_history_tests') -%}
    {%- set where = where | replace('__dump_date__', dump_date_literal()) -%}
    {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}

{# The same scope for singular tests: a predicate on `column`. #}
{% macro dump_date_scope(column) -%}
  {%- if var('full_history_tests') -%}
    1 = 1
  {%- else -%}
    {{ column }} = {{ dump_date_literal() }}
  {%- endif -%}
{%- endmacro %}
