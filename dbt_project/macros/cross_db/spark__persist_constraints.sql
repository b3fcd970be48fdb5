{#-
    Spark's side of the marts' NOT NULL constraints (overrides dbt-spark's macro of this name).

    DuckDB enforces them when the table is written. dbt-spark applies them only to Delta tables
    (`alter table ... set not null`); for the plain parquet tables of the local Spark warehouse it
    would skip them, so they are checked here instead, right after the table is written: a NULL
    in a constrained column fails the model, as it does on DuckDB.
-#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if not contract_config.enforced -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if config.get('file_format', 'delta') == 'delta' -%}
        {% do alter_table_add_constraints(relation, model.constraints) %}
        {% do alter_column_set_constraints(relation, model.columns) %}
    {%- else -%}
        {%- set not_null_columns = [] -%}
        {%- for column_name, column in model.columns.items() -%}
            {%- for constraint in column.constraints if constraint.type == 'not_null' -%}
                {%- do not_null_columns.append(column_name) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- if not_null_columns -%}
            {%- set counts -%}
                select
                    {%- for column_name in not_null_columns %}
                    count_if({{ adapter.quote(column_name) }} is null) as {{ adapter.quote(column_name) }}
                    {{- ',' if not loop.last }}
                    {%- endfor %}
                from {{ relation }}
            {%- endset -%}
            {%- set row = run_query(counts).rows[0] -%}
            {%- set violated = [] -%}
            {%- for column_name in not_null_columns -%}
                {%- if row[loop.index0] > 0 -%}
                    {%- do violated.append(column_name ~ ' (' ~ row[loop.index0] ~ ' rows)') -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if violated -%}
                {{ exceptions.raise_compiler_error(
                    'NOT NULL constraint failed on ' ~ relation ~ ': ' ~ violated | join(', ')
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
