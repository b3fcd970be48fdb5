{#-
    The sum of `expression` over a group (of its rows matching `where`, if given), added up in
    the order of `order_by` (a key unique within the group), so that a build of the same data
    gives the same double to the last digit. DuckDB's `sum` adds a group's values in whatever
    order its threads reach them, which can change the last digit from one build to the next; it
    also drops an ORDER BY inside `sum`, which does not depend on order in exact arithmetic.
    `list` keeps the order and `list_sum` adds the list left to right. NULLs are skipped; a
    group with no value gives NULL, like `sum`.
-#}
{% macro ordered_sum(expression, order_by, where=none) -%}
    list_sum(list({{ expression }} order by {{ order_by }}){% if where %} filter (where {{ where }}){% endif %})
{%- endmacro %}
