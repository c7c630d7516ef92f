{#
  dbt-mysql ignores the `indexes` config, so indexes are created here, from a post-hook:
  ensure_index(this, ['snapshot_date', 'apartment_id']) creates the index
  ix_snapshot_date_apartment_id unless information_schema
  already lists one of that name on the table (idempotent across incremental runs; a
  rebuilt table gets it again). Renders no SQL itself: the statements run via run_query.
#}
{% macro ensure_index(relation, columns) -%}
  {%- if execute -%}
    {%- set name = ('ix_' ~ columns | join('_'))[:64] -%}
    {%- set existing -%}
      select count(*) from information_schema.statistics
      where table_schema = '{{ relation.schema }}'
        and table_name = '{{ relation.identifier }}'
        and index_name = '{{ name }}'
    {%- endset -%}
    {%- if run_query(existing).columns[0].values()[0] | int == 0 -%}
      {%- set quoted = [] -%}
      {%- for column in columns -%}{%- do quoted.append('`' ~ column ~ '`') -%}{%- endfor -%}
      {%- do run_query('create index `' ~ name ~ '` on ' ~ relation ~ ' (' ~ quoted | join(', ') ~ ')') -%}
      {{ log('created index ' ~ name ~ ' on ' ~ relation, info=False) }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
