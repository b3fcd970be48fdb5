{#- One row per source zone key: each ERP zone name and each feed id_region, with its zone_id. -#}
with

feed_regions as (

    select * from {{ ref('stg_teinvento_inc__regions') }}

),

erp_sales as (

    select * from {{ ref('stg_tamales_inc__monthly_sales') }}

),

feed_keys as (

    select
        'teinvento_inc' as source,
        cast(id_region as {{ dbt.type_string() }}) as source_zone_key,
        {{ slugify('region_name') }} as zone_id,
        region_name as zone_name
    from feed_regions

),

erp_zones as (

    select distinct zone_name
    from erp_sales

),

erp_keys as (

    select
        'tamales_inc' as source,
        zone_name as source_zone_key,
        {{ slugify('zone_name') }} as zone_id,
        zone_name
    from erp_zones

),

unioned as (

    select * from feed_keys
    union all
    select * from erp_keys

),

final as (

    select
        *,
        source || ':' || zone_id as point_of_sale_id
    from unioned

)

select * from final
