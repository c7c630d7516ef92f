{#
  Pre-hooks of tenant_status_history's daily (incremental) run for dump date D, which is
  the newest date: undo whatever an earlier run of D wrote, so a re-run of D starts from
  the history as it was before D. 'delete' drops the intervals starting on or after D;
  'reopen' reopens those closed on or after D - 1 (only D's run closes an interval there).
  'days' (a post-hook) brings days_in_status of every open interval up to D.
  The predicates use indexes leading with valid_from, valid_to and is_current: the cost
  follows the rows of D and the open intervals, not the history. A backfill rebuilds the
  whole history from every observation ('delete' then empties the table in the same
  transaction as the insert); the first build and a full refresh need nothing. The runner does the same after a failed
  run (runner.py, remove_date_partitions).
#}
{% macro status_history_reset(step) -%}
  {%- if is_incremental() and not var('backfill') -%}
    {%- if step == 'delete' -%}
      delete from {{ this }} where valid_from >= {{ dump_date_literal() }}
    {%- elif step == 'days' -%}
      update {{ this }}
      set days_in_status = datediff({{ dump_date_literal() }}, valid_from) + 1
      where is_current = 1
    {%- else -%}
      update {{ this }}
      set valid_to = null, is_current = 1
      where valid_to >= date_sub({{ dump_date_literal() }}, interval 1 day)
    {%- endif -%}
  {%- elif is_incremental() and var('backfill') and step == 'delete' -%}
    delete from {{ this }}
  {%- endif -%}
{%- endmacro %}
