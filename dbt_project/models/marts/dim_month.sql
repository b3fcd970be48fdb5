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

month_starts as (

    select
        {{ month_series(
            'first_month',
            dbt.dateadd('month', var('calendar_months_ahead'), 'last_month')
        ) }} as month_start
    from month_span

),

months as (

    select cast(month_start as date) as month_date
    from month_starts

),

final as (

    select
        month_date,
        cast(year(month_date) as integer) as year,
        cast(month(month_date) as integer) as month_of_year,
        cast({{ month_abbreviation('month(month_date)') }} as {{ dbt.type_string() }}) as month_name,
        cast(quarter(month_date) as integer) as quarter
    from months

)

select * from final
