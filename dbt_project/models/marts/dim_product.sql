with

product_keys as (

    select * from {{ ref('int_product_keys_mapped') }}

),

conformed as (

    -- the feed describes a product (name, brand, producer); the ERP adds its code and flavor
    select
        product_id,
        coalesce(
            min(product_name) filter (where source = 'teinvento_inc'),
            min(product_name)
        ) as product_name,
        min(flavor) as flavor,
        min(brand_name) as brand,
        coalesce(
            min(producer_name) filter (where source = 'teinvento_inc'),
            min(producer_name)
        ) as producer,
        coalesce(
            min(calorie_category) filter (where source = 'teinvento_inc'),
            min(calorie_category)
        ) as calorie_category,
        min(source_product_key) filter (where source = 'tamales_inc') as tamales_inc_product_code,
        min(try_cast(source_product_key as bigint)) filter (
            where source = 'teinvento_inc'
        ) as teinvento_id_product,
        {{ dbt.bool_or("is_unknown") }} as is_unknown
    from product_keys
    group by product_id

),

final as (

    select
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(product_name as {{ dbt.type_string() }}) as product_name,
        cast(flavor as {{ dbt.type_string() }}) as flavor,
        cast(brand as {{ dbt.type_string() }}) as brand,
        cast(producer as {{ dbt.type_string() }}) as producer,
        cast(calorie_category as {{ dbt.type_string() }}) as calorie_category,
        coalesce(producer = 'Tamales Inc', false) as is_own_brand,
        cast(tamales_inc_product_code as {{ dbt.type_string() }}) as tamales_inc_product_code,
        cast(teinvento_id_product as bigint) as teinvento_id_product,
        is_unknown
    from conformed

)

select * from final
