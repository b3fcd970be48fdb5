{#-
    Reconciliation: each staging model holds every landed row of the version it reads (one version
    per model), with the landed sales amounts unchanged in `raw_sales`. Returns one row per mismatch.
-#}
with

landed as (

    {{ landed_totals() }}

),

erp_sales as (

    select * from {{ ref('stg_tamales_inc__monthly_sales') }}

),

feed_sales as (

    select * from {{ ref('stg_teinvento_inc__sales') }}

),

feed_products as (

    select * from {{ ref('stg_teinvento_inc__products') }}

),

feed_regions as (

    select * from {{ ref('stg_teinvento_inc__regions') }}

),

staged as (

    select 'monthly_sales' as table_name, data_version, count(*) as n_rows, sum(raw_sales) as sales
    from erp_sales group by data_version
    union all
    select 'fact_table', data_version, count(*), sum(raw_sales)
    from feed_sales group by data_version
    union all
    select 'product_dim', data_version, count(*), null
    from feed_products group by data_version
    union all
    select 'region_dim', data_version, count(*), null
    from feed_regions group by data_version

),

versions_per_table as (

    select
        table_name,
        count(*) as n_versions
    from staged
    group by table_name

),

compared as (

    select
        staged.table_name,
        staged.data_version,
        staged.n_rows as staged_n_rows,
        landed.n_rows as landed_n_rows,
        staged.sales as staged_sales,
        landed.sales as landed_sales,
        versions_per_table.n_versions
    from staged
    left join landed
        on staged.table_name = landed.table_name
        and staged.data_version = landed.data_version
    inner join versions_per_table
        on staged.table_name = versions_per_table.table_name

),

mismatches as (

    select *
    from compared
    where n_versions != 1
        or staged_n_rows is distinct from landed_n_rows
        or (staged_sales is null) != (landed_sales is null)
        or abs(staged_sales - landed_sales)
        > {{ var('reconciliation_tolerance') }} * abs(landed_sales) + 1e-9

)

select * from mismatches
