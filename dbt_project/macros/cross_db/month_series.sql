{#-
    A set-returning select expression: one row per month from `first_month` to `last_month`
    (both included, dates on the first of the month), to be cast to DATE by the caller.
-#}
{% macro month_series(first_month, last_month) -%}
    {{ return(adapter.dispatch('month_series', 'tamales')(first_month, last_month)) }}
{%- endmacro %}

{% macro default__month_series(first_month, last_month) -%}
    unnest(generate_series({{ first_month }}, {{ last_month }}, interval 1 month))
{%- endmacro %}

{% macro spark__month_series(first_month, last_month) -%}
    explode(sequence(cast({{ first_month }} as date), cast({{ last_month }} as date), interval 1 month))
{%- endmacro %}
