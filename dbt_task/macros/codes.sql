{#
  The one place that decides what a code the code seeds do not list reads as: the label
  'unknown' (a NULL code keeps a NULL label). Models left join the seed and call this, so
  an unknown code never drops a row; the staging relationships test counts it as a
  source-data-quality warning.
#}
{% macro unknown_code_label() -%}
  'unknown'
{%- endmacro %}

{% macro code_label(code, label) -%}
  case when {{ code }} is not null then coalesce({{ label }}, {{ unknown_code_label() }}) end
{%- endmacro %}

{#
  Occupying: code_tenant_status.is_active_lease = 1 (the seed is the single definition).
  An unknown status code is not occupying. `status_alias` is the joined seed row.
#}
{% macro is_occupying(status_alias) -%}
  coalesce({{ status_alias }}.is_active_lease, 0) = 1
{%- endmacro %}
