{#-
    One row per source product key: each feed id_product and each ERP product_code, with the
    conformed product_id it maps to and that product's attributes as the source describes them.
-#}
with

feed_products as (

    select * from {{ ref('stg_teinvento_inc__products') }}

),

feed_sales as (

    select * from {{ ref('stg_teinvento_inc__sales') }}

),

erp_sales as (

    select * from {{ ref('stg_tamales_inc__monthly_sales') }}

),

feed_ids_without_product_row as (

    select distinct feed_sales.id_product
    from feed_sales
    where not exists (
        select 1
        from feed_products
        where feed_products.id_product = feed_sales.id_product
    )

),

feed_products_with_orphans as (

    select
        id_product,
        product_name,
        brand_name,
        producer_name,
        calorie_category
    from feed_products

    union all

    select
        id_product,
        null as product_name,
        null as brand_name,
        null as producer_name,
        null as calorie_category
    from feed_ids_without_product_row

),

feed_keys as (

    select
        'teinvento_inc' as source,
        cast(id_product as {{ dbt.type_string() }}) as source_product_key,
        case
            when product_name is null then 'unknown-' || cast(id_product as {{ dbt.type_string() }})
            else {{ slugify("product_name || ' ' || coalesce(calorie_category, 'unknown')") }}
        end as product_id,
        coalesce(
            product_name, 'Unknown product ' || cast(id_product as {{ dbt.type_string() }})
        ) as product_name,
        null as flavor,
        brand_name,
        producer_name,
        calorie_category,
        product_name is null as is_unknown
    from feed_products_with_orphans

),

erp_code_categories as (

    select
        product_code,
        product_name,
        flavor,
        {{ conformed_calorie_category('calorie_category') }} as calorie_category,
        count(*) as n_lines
    from erp_sales
    group by
        product_code,
        product_name,
        flavor,
        {{ conformed_calorie_category('calorie_category') }}

),

erp_code_ranks as (

    -- each code takes its predominant name, flavor and calorie category (ties go to Regular)
    select
        *,
        row_number() over (
            partition by product_code
            order by
                n_lines desc,
                calorie_category = 'Regular' desc,
                calorie_category,
                product_name,
                flavor
        ) as code_rank
    from erp_code_categories

),

erp_codes as (

    select
        product_code,
        product_name,
        flavor,
        calorie_category,
        n_lines
    from erp_code_ranks
    where code_rank = 1

),

erp_keys as (

    select
        'tamales_inc' as source,
        product_code as source_product_key,
        {{ slugify("product_name || ' ' || flavor || ' ' || calorie_category") }} as product_id,
        product_name || ' ' || flavor as product_name,
        flavor,
        null as brand_name,
        'Tamales Inc' as producer_name,
        calorie_category,
        false as is_unknown
    from erp_codes

),

unioned as (

    select * from feed_keys
    union all
    select * from erp_keys

)

select * from unioned
