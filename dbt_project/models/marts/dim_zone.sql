with

zone_keys as (

    select * from {{ ref('int_zone_keys_mapped') }}

),

conformed as (

    select
        zone_id,
        coalesce(
            min(zone_name) filter (where source = 'teinvento_inc'),
            min(zone_name)
        ) as zone_name,
        min(source_zone_key) filter (where source = 'tamales_inc') as tamales_inc_zone,
        min(try_cast(source_zone_key as bigint)) filter (
            where source = 'teinvento_inc'
        ) as teinvento_id_region
    from zone_keys
    group by zone_id

),

final as (

    select
        cast(zone_id as {{ dbt.type_string() }}) as zone_id,
        cast(zone_name as {{ dbt.type_string() }}) as zone_name,
        cast(tamales_inc_zone as {{ dbt.type_string() }}) as tamales_inc_zone,
        cast(teinvento_id_region as bigint) as teinvento_id_region
    from conformed

)

select * from final
