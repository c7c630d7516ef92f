{# Source text uses the string 'NULL' and empty strings for "no value". #}
{% macro clean_text(column) -%}
  nullif(nullif(trim({{ column }}), 'NULL'), '')
{%- endmacro %}

{#
  Zero dates (0000-00-00), partial zero dates (2026-03-00, 2026-00-10) and other impossible
  dates become NULL. The loader stores what the dump holds (permissive sql_mode); MySQL's
  default strict mode (NO_ZERO_IN_DATE) then rejects a partial zero date written into a
  table (error 1292) although it compares as >= '1000-01-01', so month and day are checked
  too. MONTH()/DAYOFMONTH() of a zero part are 0 on both engines.
#}
{% macro clean_date(column) -%}
  case
    when {{ column }} >= '1000-01-01'
     and month({{ column }}) > 0
     and dayofmonth({{ column }}) > 0
      then {{ column }}
  end
{%- endmacro %}

{# cancel_flag NULL means not cancelled. #}
{% macro flag(column) -%}
  case when coalesce({{ column }}, 0) = 0 then 0 else 1 end
{%- endmacro %}
