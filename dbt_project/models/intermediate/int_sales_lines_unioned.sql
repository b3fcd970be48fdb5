{#- One row per landed sales line of either source, carrying the conformed product and zone keys. -#}
with

erp_sales as (

    select * from {{ ref('stg_tamales_inc__monthly_sales') }}

),

feed_sales as (

    select * from {{ ref('stg_teinvento_inc__sales') }}

),

product_keys as (

    select * from {{ ref('int_product_keys_mapped') }}

),

zone_keys as (

    select * from {{ ref('int_zone_keys_mapped') }}

),

erp_lines as (

    select
        erp_sales.sales_line_id,
        'tamales_inc' as source,
        erp_sales.data_version,
        erp_sales.sales_month,
        product_keys.product_id,
        zone_keys.zone_id,
        zone_keys.point_of_sale_id,
        erp_sales.sales,
        erp_sales.is_return,
        erp_sales.is_noise,
        {{ conformed_calorie_category('erp_sales.calorie_category') }} as calorie_category,
        erp_sales.blob_name,
        erp_sales.line_number,
        erp_sales.ingested_at
    from erp_sales
    left join product_keys
        on product_keys.source = 'tamales_inc'
        and erp_sales.product_code = product_keys.source_product_key
    left join zone_keys
        on zone_keys.source = 'tamales_inc'
        and erp_sales.zone_name = zone_keys.source_zone_key

),

feed_lines as (

    select
        feed_sales.sales_line_id,
        'teinvento_inc' as source,
        feed_sales.data_version,
        feed_sales.sales_month,
        product_keys.product_id,
        zone_keys.zone_id,
        zone_keys.point_of_sale_id,
        feed_sales.sales,
        feed_sales.is_return,
        feed_sales.is_noise,
        product_keys.calorie_category,
        feed_sales.blob_name,
        feed_sales.line_number,
        feed_sales.ingested_at
    from feed_sales
    left join product_keys
        on product_keys.source = 'teinvento_inc'
        and cast(feed_sales.id_product as {{ dbt.type_string() }}) = product_keys.source_product_key
    left join zone_keys
        on zone_keys.source = 'teinvento_inc'
        and cast(feed_sales.id_region as {{ dbt.type_string() }}) = zone_keys.source_zone_key

),

unioned as (

    select * from erp_lines
    union all
    select * from feed_lines

)

select * from unioned
