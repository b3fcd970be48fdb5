with

source as (

    select * from {{ source('tamales_inc', 'monthly_sales') }}

),

latest_version as (

    select *
    from source
    where data_version = {{ data_version_to_read(source('tamales_inc', 'monthly_sales')) }}

),

renamed as (

    select
        blob_name || ':' || cast(line_number as {{ dbt.type_string() }}) as sales_line_id,
        data_version,
        make_date(year, {{ month_number('trim(month)') }}, 1) as sales_month,
        year as sales_year,
        trim(month) as month_name,
        {{ clean_text('country') }} as country_name,
        {{ clean_text('calorie_category') }} as calorie_category,
        {{ clean_text('product_code') }} as product_code,
        {{ clean_text('product_name') }} as product_name,
        {{ clean_text('flavor') }} as flavor,
        coalesce({{ clean_text('zone') }}, 'No definido') as zone_name,
        sales as raw_sales,
        {{ denoised_sales('sales') }} as sales,
        {{ is_noise('sales') }} as is_noise,
        {{ is_return('sales') }} as is_return,
        blob_name,
        line_number,
        ingested_at

    from latest_version

)

select * from renamed
