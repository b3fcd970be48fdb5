with

monthly_sales as (

    select * from {{ ref('fct_sales_monthly') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

sales_lines as (

    select * from {{ ref('fct_sales') }}

),

source_versions as (

    select
        source,
        max(data_version) as data_version
    from sales_lines
    group by source

),

series_months as (

    select
        monthly_sales.source || ':' || monthly_sales.product_id || ':' || monthly_sales.zone_id
            as series_id,
        monthly_sales.source,
        monthly_sales.product_id,
        monthly_sales.zone_id,
        monthly_sales.sales_month,
        products.calorie_category,
        products.is_own_brand,
        source_versions.data_version,
        monthly_sales.sales,
        monthly_sales.n_sales_lines,
        monthly_sales.n_return_lines
    from monthly_sales
    left join products
        on monthly_sales.product_id = products.product_id
    left join source_versions
        on monthly_sales.source = source_versions.source

),

series_history as (

    -- series are zero-filled inside their span, so row offsets are month offsets
    select
        *,
        lead(sales, 1) over by_series as target_sales_next_month,
        lag(sales, 1) over by_series as sales_lag_1,
        lag(sales, 2) over by_series as sales_lag_2,
        lag(sales, 3) over by_series as sales_lag_3,
        lag(sales, 6) over by_series as sales_lag_6,
        lag(sales, 12) over by_series as sales_lag_12,
        avg(sales) over last_3_months as rolling_mean_3,
        avg(sales) over last_6_months as rolling_mean_6,
        avg(sales) over last_12_months as rolling_mean_12,
        stddev_samp(sales) over last_3_months as rolling_std_3,
        stddev_samp(sales) over last_6_months as rolling_std_6,
        stddev_samp(sales) over last_12_months as rolling_std_12,
        row_number() over by_series as months_of_history
    from series_months
    window
        by_series as (partition by series_id order by sales_month),
        last_3_months as (
            partition by series_id order by sales_month rows between 2 preceding and current row
        ),
        last_6_months as (
            partition by series_id order by sales_month rows between 5 preceding and current row
        ),
        last_12_months as (
            partition by series_id order by sales_month rows between 11 preceding and current row
        )

),

market_category_months as (

    select
        zone_id,
        sales_month,
        calorie_category,
        {{ ordered_sum('sales', 'product_id') }} as market_category_sales,
        coalesce(
            {{ ordered_sum('sales', 'product_id', where='is_own_brand') }}, 0
        ) as own_brand_sales
    from series_months
    where source = 'teinvento_inc'
    group by zone_id, sales_month, calorie_category

),

market_shares as (

    select
        zone_id,
        sales_month,
        {{ ordered_sum('own_brand_sales', 'calorie_category') }}
        / nullif({{ ordered_sum('market_category_sales', 'calorie_category') }}, 0)
            as own_share_of_market
    from market_category_months
    group by zone_id, sales_month

),

category_months as (

    select
        source,
        calorie_category,
        sales_month,
        {{ ordered_sum('sales', 'product_id, zone_id') }} as category_sales
    from series_months
    group by source, calorie_category, sales_month

),

month_weights as (

    -- the exercise's weight of the month: the category's average sales in this month of the
    -- year over its maximum monthly sales, both over months <= t only
    select
        source,
        calorie_category,
        sales_month,
        avg(category_sales) over (
            partition by source, calorie_category, month(sales_month)
            order by sales_month
            rows between unbounded preceding and current row
        ) / nullif(
            max(category_sales) over (
                partition by source, calorie_category
                order by sales_month
                rows between unbounded preceding and current row
            ),
            0
        ) as month_weight
    from category_months

),

source_yoy_ratios as (

    -- the source's pooled year-over-year ratio at t: its sales at t over the same series' sales a
    -- year earlier, over the series with both months (a market-wide level signal, less noisy
    -- than any one series' ratio). Months without lines are left out: a zero-filled month
    -- exists only because its series sells again later, so counting it would look ahead.
    select
        source,
        sales_month,
        {{ ordered_sum('sales', 'product_id, zone_id') }}
        / {{ ordered_sum('sales_lag_12', 'product_id, zone_id') }} as source_yoy_ratio
    from series_history
    where sales is not null and n_sales_lines > 0 and sales_lag_12 > 0
    group by source, sales_month

),

joined as (

    select
        series_history.*,
        other_source.sales as other_source_sales,
        market_category_months.market_category_sales,
        market_shares.own_share_of_market,
        month_weights.month_weight,
        source_yoy_ratios.source_yoy_ratio
    from series_history
    left join series_months as other_source
        on series_history.product_id = other_source.product_id
        and series_history.zone_id = other_source.zone_id
        and series_history.sales_month = other_source.sales_month
        and series_history.source != other_source.source
    left join market_category_months
        on series_history.zone_id = market_category_months.zone_id
        and series_history.sales_month = market_category_months.sales_month
        and series_history.calorie_category = market_category_months.calorie_category
    left join market_shares
        on series_history.zone_id = market_shares.zone_id
        and series_history.sales_month = market_shares.sales_month
    left join month_weights
        on series_history.source = month_weights.source
        and series_history.calorie_category is not distinct from month_weights.calorie_category
        and series_history.sales_month = month_weights.sales_month
    left join source_yoy_ratios
        on series_history.source = source_yoy_ratios.source
        and series_history.sales_month = source_yoy_ratios.sales_month

),

final as (

    select
        cast(series_id as {{ dbt.type_string() }}) as series_id,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(zone_id as {{ dbt.type_string() }}) as zone_id,
        cast(sales_month as date) as sales_month,
        cast(calorie_category as {{ dbt.type_string() }}) as calorie_category,
        cast(is_own_brand as boolean) as is_own_brand,
        cast(data_version as {{ dbt.type_string() }}) as data_version,
        cast(sales as double) as sales,
        cast(target_sales_next_month as double) as target_sales_next_month,
        cast(sales_lag_1 as double) as sales_lag_1,
        cast(sales_lag_2 as double) as sales_lag_2,
        cast(sales_lag_3 as double) as sales_lag_3,
        cast(sales_lag_6 as double) as sales_lag_6,
        cast(sales_lag_12 as double) as sales_lag_12,
        cast(rolling_mean_3 as double) as rolling_mean_3,
        cast(rolling_mean_6 as double) as rolling_mean_6,
        cast(rolling_mean_12 as double) as rolling_mean_12,
        cast(rolling_std_3 as double) as rolling_std_3,
        cast(rolling_std_6 as double) as rolling_std_6,
        cast(rolling_std_12 as double) as rolling_std_12,
        cast(month(sales_month) as integer) as month_of_year,
        cast(sales - sales_lag_12 as double) as yoy_change,
        cast((sales - sales_lag_12) / nullif(abs(sales_lag_12), 0) as double) as yoy_pct_change,
        cast(other_source_sales as double) as other_source_sales,
        cast(market_category_sales as double) as market_category_sales,
        cast(own_share_of_market as double) as own_share_of_market,
        cast(month_weight as double) as month_weight,
        cast(source_yoy_ratio as double) as source_yoy_ratio,
        cast(n_sales_lines as bigint) as n_sales_lines,
        cast(n_return_lines as bigint) as n_return_lines,
        cast(months_of_history as bigint) as months_of_history
    from joined

)

select * from final
