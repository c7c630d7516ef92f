{#
  Daily snapshot partitions. The increment filter admits only a date newer than the newest
  one stored, so an older dump can never overwrite history; the MAX is answered from an
  index leading with snapshot_date, so the cost does not grow with the table. The pre-hook deletes the
  dump date's rows first when that date is the newest (a re-run replaces exactly that
  date) or when the run is an explicit backfill (then the filter admits exactly that date).
  The delete and the insert commit together.
#}
{% macro snapshot_increment_filter(column='snapshot_date') -%}
  {%- if var('backfill') -%}
    {{ column }} = {{ dump_date_literal() }}
  {%- else -%}
    {{ column }} > COALESCE((SELECT MAX({{ column }}) FROM {{ this }}), '1900-01-01')
  {%- endif -%}
{%- endmacro %}

{% macro replace_snapshot_partition(column='snapshot_date') -%}
  {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ column }} = {{ dump_date_literal() }}
    {%- if not var('backfill') %}
      and {{ column }} >= (
        select newest from (select max({{ column }}) as newest from {{ this }}) as newest_stored
      )
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
