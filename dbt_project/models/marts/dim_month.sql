with

sales_lines as (

    select * from {{ ref('fct_sales') }}

),

month_span as (

    select
        min(sales_month) as first_month,
        max(sales_month) as last_month
    from sales_lines

),

months as (

    select
        cast(
            unnest(
                generate_series(
                    first_month,
                    last_month + to_months({{ var('calendar_months_ahead') }}),
                    interval 1 month
                )
            ) as date
        ) as month_date
    from month_span

),

final as (

    select
        month_date,
        cast(year(month_date) as integer) as year,
        cast(month(month_date) as integer) as month_of_year,
        cast(strftime(month_date, '%b') as varchar) as month_name,
        cast(quarter(month_date) as integer) as quarter
    from months

)

select * from final
