{#-
    Landed totals, the reference both reconciliation tests compare against: one row per landed
    source table and data version, with its row count and sum of sales (null for the dimensions).
-#}
{% macro landed_totals() -%}
    select
        'tamales_inc' as source,
        'monthly_sales' as table_name,
        data_version,
        count(*) as n_rows,
        sum(sales) as sales
    from {{ source('tamales_inc', 'monthly_sales') }}
    group by data_version

    union all

    select
        'teinvento_inc' as source,
        'fact_table' as table_name,
        data_version,
        count(*) as n_rows,
        sum(sales) as sales
    from {{ source('teinvento_inc', 'fact_table') }}
    group by data_version

    union all

    select
        'teinvento_inc' as source,
        'product_dim' as table_name,
        data_version,
        count(*) as n_rows,
        cast(null as double) as sales
    from {{ source('teinvento_inc', 'product_dim') }}
    group by data_version

    union all

    select
        'teinvento_inc' as source,
        'region_dim' as table_name,
        data_version,
        count(*) as n_rows,
        cast(null as double) as sales
    from {{ source('teinvento_inc', 'region_dim') }}
    group by data_version
{%- endmacro %}
