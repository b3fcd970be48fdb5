with

zone_keys as (

    select * from {{ ref('int_zone_keys_mapped') }}

),

zones as (

    select * from {{ ref('dim_zone') }}

),

points_of_sale as (

    -- each source records sales per zone: one ERP zone file, one market-feed region
    select distinct
        point_of_sale_id,
        source,
        zone_id
    from zone_keys

),

final as (

    select
        cast(points_of_sale.point_of_sale_id as {{ dbt.type_string() }}) as point_of_sale_id,
        cast(points_of_sale.source as {{ dbt.type_string() }}) as source,
        cast(points_of_sale.zone_id as {{ dbt.type_string() }}) as zone_id,
        cast(
            case points_of_sale.source
                when 'tamales_inc' then 'Tamales Inc ERP sales of zone '
                else 'Teinvento market feed sales of region '
            end || zones.zone_name as {{ dbt.type_string() }}
        ) as description
    from points_of_sale
    left join zones
        on points_of_sale.zone_id = zones.zone_id

)

select * from final
