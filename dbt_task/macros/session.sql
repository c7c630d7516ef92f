{#
  A pre-hook on every model and seed: wait at most lock_wait_timeout_seconds for row locks
  (InnoDB) and metadata locks (DDL), so a run blocked on Aurora fails fast and visibly
  instead of piling up behind a long transaction. Valid on MySQL 8 and MariaDB.
#}
{% macro set_session_lock_timeouts() -%}
  {%- set seconds = var('lock_wait_timeout_seconds') | int -%}
  set session innodb_lock_wait_timeout = {{ seconds }}, lock_wait_timeout = {{ seconds }}
{%- endmacro %}
