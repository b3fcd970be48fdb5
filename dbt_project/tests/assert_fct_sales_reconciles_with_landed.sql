{#-
    Reconciliation: per source, fct_sales holds exactly one landed data version (var `data_version`,
    else the source's latest), and its line count and sum of sales equal what the ingest landed for
    that version. Sums may differ only by the float noise set to 0 (< 1e-6 per line) and by
    summation order. Returns one row per mismatch.
-#}
with

landed_totals as (

    {{ landed_totals() }}

),

sales_lines as (

    select * from {{ ref('fct_sales') }}

),

landed as (

    select
        source,
        data_version,
        n_rows as n_lines,
        sales
    from landed_totals
    where table_name in ('monthly_sales', 'fact_table')

),

expected_versions as (

    select
        source,
        {% if var('data_version') -%}
            '{{ var('data_version') }}'
        {%- else -%}
            max(data_version)
        {%- endif %} as data_version
    from landed
    group by source

),

expected as (

    select landed.*
    from landed
    inner join expected_versions
        on landed.source = expected_versions.source
        and landed.data_version = expected_versions.data_version

),

built as (

    select
        source,
        data_version,
        count(*) as n_lines,
        sum(sales) as sales
    from sales_lines
    group by source, data_version

),

compared as (

    select
        coalesce(built.source, expected.source) as source,
        coalesce(built.data_version, expected.data_version) as data_version,
        built.n_lines as built_n_lines,
        expected.n_lines as landed_n_lines,
        built.sales as built_sales,
        expected.sales as landed_sales
    from built
    full outer join expected
        on built.source = expected.source
        and built.data_version = expected.data_version

),

mismatches as (

    select *
    from compared
    where built_n_lines is distinct from landed_n_lines
        or (built_sales is null) != (landed_sales is null)
        or abs(built_sales - landed_sales)
        > 1e-6 * landed_n_lines + {{ var('reconciliation_tolerance') }} * abs(landed_sales)

)

select * from mismatches
