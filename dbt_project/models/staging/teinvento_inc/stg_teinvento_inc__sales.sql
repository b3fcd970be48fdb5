with

source as (

    select * from {{ source('teinvento_inc', 'fact_table') }}

),

latest_version as (

    select *
    from source
    where data_version = {{ data_version_to_read(source('teinvento_inc', 'fact_table')) }}

),

renamed as (

    select
        blob_name || ':' || cast(line_number as {{ dbt.type_string() }}) as sales_line_id,
        data_version,
        make_date(year, {{ month_number('trim(month)') }}, 1) as sales_month,
        year as sales_year,
        trim(month) as month_name,
        id_region,
        id_product,
        sales as raw_sales,
        {{ denoised_sales('sales') }} as sales,
        sales is null as is_missing_sales,
        {{ is_noise('sales') }} as is_noise,
        {{ is_return('sales') }} as is_return,
        blob_name,
        line_number,
        ingested_at

    from latest_version

)

select * from renamed
