{#-
    The generic `unique` test on DuckDB, the way this project runs it: rows are grouped by a 64-bit
    hash of the column first, and only values whose hash repeats are grouped whole. On fct_sales at
    scale 10000 (57M lines, text ids of about 100 characters) dbt's own version, one group-by over
    the text, ran out of the 1 GB memory limit next to the build's other thread; the hashed one
    takes half the time and fits. Same result: the duplicated values and their counts.
    Other engines keep dbt's default (`adapter.dispatch` finds this one for duckdb only).
-#}
{% macro duckdb__test_unique(model, column_name) %}

with repeated_hashes as (

    select hash({{ column_name }}) as key_hash
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
    having count(*) > 1

)

select
    {{ column_name }} as unique_field,
    count(*) as n_records

from {{ model }}
where
    {{ column_name }} is not null
    and hash({{ column_name }}) in (select key_hash from repeated_hashes)
group by {{ column_name }}
having count(*) > 1

{% endmacro %}
