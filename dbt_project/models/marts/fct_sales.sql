with

sales_lines as (

    select * from {{ ref('int_sales_lines_unioned') }}

),

final as (

    select
        cast(sales_line_id as {{ dbt.type_string() }}) as sales_line_id,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(data_version as {{ dbt.type_string() }}) as data_version,
        cast(sales_month as date) as sales_month,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(zone_id as {{ dbt.type_string() }}) as zone_id,
        cast(point_of_sale_id as {{ dbt.type_string() }}) as point_of_sale_id,
        cast(sales as double) as sales,
        cast(is_return as boolean) as is_return,
        cast(is_noise as boolean) as is_noise,
        cast(calorie_category as {{ dbt.type_string() }}) as calorie_category,
        cast(blob_name as {{ dbt.type_string() }}) as blob_name,
        cast(line_number as bigint) as line_number,
        cast(ingested_at as timestamp) as ingested_at
    from sales_lines

)

select * from final
