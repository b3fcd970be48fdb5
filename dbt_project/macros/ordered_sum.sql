{#-
    The sum of `expression` over a group (of its rows matching `where`, if given), added up in
    the order of `order_by` (a key unique within the group), so that a build of the same data
    gives the same double to the last digit. A parallel `sum` adds a group's values in whatever
    order its threads reach them, which can change the last digit from one build to the next
    (DuckDB also drops an ORDER BY inside `sum`, which does not depend on order in exact
    arithmetic). NULLs are skipped; a group with no value gives NULL, like `sum`.
-#}
{% macro ordered_sum(expression, order_by, where=none) -%}
    {{ return(adapter.dispatch('ordered_sum', 'tamales')(expression, order_by, where)) }}
{%- endmacro %}

{#- DuckDB: `list` keeps the order and `list_sum` adds the list left to right. The order is the
    64-bit hash of the key, then the value (a hash shared by two keys orders them by value, so the
    sum stays the same): DuckDB buffers a group's values and sort keys in memory, and a hash takes
    8 bytes where fct_sales' text line ids take about 100 (57M lines at sample scale 10000). -#}
{% macro default__ordered_sum(expression, order_by, where=none) -%}
    list_sum(list({{ expression }} order by hash({{ order_by }}), {{ expression }}){% if where %} filter (where {{ where }}){% endif %})
{%- endmacro %}

{#- Spark: the values sorted with their keys (structs sort field by field), then folded. -#}
{% macro spark__ordered_sum(expression, order_by, where=none) -%}
    aggregate(
        array_sort(collect_list(
            {% if where %}case when {{ where }} then {% endif -%}
            struct({{ order_by }}, cast({{ expression }} as double) as ordered_sum_value)
            {%- if where %} end{% endif %}
        )),
        cast(null as double),
        (total, item) -> case
            when item.ordered_sum_value is null then total
            else coalesce(total, 0D) + item.ordered_sum_value
        end
    )
{%- endmacro %}
