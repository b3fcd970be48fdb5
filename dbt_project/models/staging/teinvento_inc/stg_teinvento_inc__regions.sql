with

source as (

    select * from {{ source('teinvento_inc', 'region_dim') }}

),

latest_version as (

    select *
    from source
    where data_version = {{ data_version_to_read(source('teinvento_inc', 'region_dim')) }}

),

renamed as (

    select
        id_region,
        data_version,
        {{ clean_text('country') }} as country_name,
        coalesce({{ clean_text('region') }}, 'No definido') as region_name,
        {{ clean_text('region') }} is null as is_region_unnamed,
        blob_name,
        line_number,
        ingested_at

    from latest_version

)

select * from renamed
