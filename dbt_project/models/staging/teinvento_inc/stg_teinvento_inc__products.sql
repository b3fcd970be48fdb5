with

source as (

    select * from {{ source('teinvento_inc', 'product_dim') }}

),

latest_version as (

    select *
    from source
    where data_version = {{ data_version_to_read(source('teinvento_inc', 'product_dim')) }}

),

renamed as (

    select
        id_product,
        data_version,
        {{ clean_text('product') }} as product_name,
        {{ clean_text('product_brand') }} as brand_name,
        {{ clean_text('producer') }} as producer_name,
        {{ clean_text('calorie_category') }} as calorie_category,
        blob_name,
        line_number,
        ingested_at

    from latest_version

)

select * from renamed
