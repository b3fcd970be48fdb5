with

sales_lines as (

    select * from {{ ref('fct_sales') }}

),

months as (

    select * from {{ ref('dim_month') }}

),

series_months_with_lines as (

    select
        source,
        product_id,
        zone_id,
        sales_month,
        {{ ordered_sum('sales', 'sales_line_id') }} as sales,
        count(*) as n_sales_lines,
        count(*) filter (where is_return) as n_return_lines
    from sales_lines
    group by source, product_id, zone_id, sales_month

),

series_spans as (

    select
        source,
        product_id,
        zone_id,
        min(sales_month) as first_month,
        max(sales_month) as last_month
    from series_months_with_lines
    group by source, product_id, zone_id

),

series_months as (

    -- every month inside each series' active span, from its first to its last month with lines
    select
        series_spans.source,
        series_spans.product_id,
        series_spans.zone_id,
        months.month_date as sales_month
    from series_spans
    inner join months
        on months.month_date between series_spans.first_month and series_spans.last_month

),

zero_filled as (

    select
        series_months.source,
        series_months.product_id,
        series_months.zone_id,
        series_months.sales_month,
        case
            when series_months_with_lines.sales_month is null then 0.0
            else series_months_with_lines.sales
        end as sales,
        coalesce(series_months_with_lines.n_sales_lines, 0) as n_sales_lines,
        coalesce(series_months_with_lines.n_return_lines, 0) as n_return_lines,
        series_months_with_lines.sales_month is null as is_zero_filled
    from series_months
    left join series_months_with_lines
        on series_months.source = series_months_with_lines.source
        and series_months.product_id = series_months_with_lines.product_id
        and series_months.zone_id = series_months_with_lines.zone_id
        and series_months.sales_month = series_months_with_lines.sales_month

),

final as (

    select
        cast(source as {{ dbt.type_string() }}) as source,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(zone_id as {{ dbt.type_string() }}) as zone_id,
        cast(sales_month as date) as sales_month,
        cast(sales as double) as sales,
        cast(n_sales_lines as bigint) as n_sales_lines,
        cast(n_return_lines as bigint) as n_return_lines,
        cast(is_zero_filled as boolean) as is_zero_filled
    from zero_filled

)

select * from final
