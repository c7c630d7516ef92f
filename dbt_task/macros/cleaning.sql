{# Source text uses the string 'NULL' and empty strings for "no value". #}
{% macro clean_text(column) -%}
  nullif(nullif(trim({{ column }}), 'NULL'), '')
{%- endmacro %}

{# Zero dates (0000-00-00) and other impossible dates become NULL; valid on MySQL 8 strict. #}
{% macro clean_date(column) -%}
  case when {{ column }} >= '1000-01-01' then {{ column }} end
{%- endmacro %}

{# cancel_flag NULL means not cancelled. #}
{% macro flag(column) -%}
  case when coalesce({{ column }}, 0) = 0 then 0 else 1 end
{%- endmacro %}

{% macro occupying_statuses() -%}
  ({{ var('occupying_tenant_statuses') | join(', ') }})
{%- endmacro %}
