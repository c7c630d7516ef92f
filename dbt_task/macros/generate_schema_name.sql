{#
  Schemas are used as named (staging, silver, gold, seeds), never prefixed with the target
  schema, plus the optional DBT_SCHEMA_SUFFIX so tests and parallel local runs never touch
  the real ones. "staging" means the source schema: the staging views live beside the
  dump's tables, in whichever schema the loader published them (staging_backfill too).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name == 'staging' -%}
    {{ source_schema() }}
  {%- else -%}
    {{ (custom_schema_name or target.schema) | trim }}{{ env_var('DBT_SCHEMA_SUFFIX', '') }}
  {%- endif -%}
{%- endmacro %}

{# The schema holding the dump's tables: var source_schema as given, else staging + suffix. #}
{% macro source_schema() -%}
  {{ var('source_schema', 'staging' ~ env_var('DBT_SCHEMA_SUFFIX', '')) }}
{%- endmacro %}
