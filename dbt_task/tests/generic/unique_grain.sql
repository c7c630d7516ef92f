{#
  The grain of a model: no two rows share the combination of `columns`.
  (dbt_utils.unique_combination_of_columns, without a package download at build time.)
#}
{% test unique_grain(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_per_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
