{#
  The dump's business date as a SQL date literal. Snapshots are stamped with this, never
  with the clock, so a late run or a re-run writes the date of the data it read.
#}
{% macro dump_date_literal() -%}
  {%- set raw = var('dump_date') -%}
  {%- if raw is none and execute -%}
    {{ exceptions.raise_compiler_error("var dump_date is required (YYYY-MM-DD): pass --vars '{dump_date: ...}'") }}
  {%- elif raw is none -%}
    cast(null as date)
  {%- else -%}
    {%- set parsed = modules.datetime.datetime.strptime(raw | string, '%Y-%m-%d') -%}
    cast('{{ parsed.strftime("%Y-%m-%d") }}' as date)
  {%- endif -%}
{%- endmacro %}
