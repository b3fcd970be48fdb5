{#-
    The landed data version a staging model reads, as a SQL literal: var('data_version') when set,
    otherwise the latest version of that source table, looked up when the model is built so that the
    published view stays pinned to the version the marts were built from.
-#}
{% macro data_version_to_read(source_relation) -%}
    {%- if var('data_version') -%}
        '{{ var('data_version') }}'
    {%- elif execute -%}
        {%- set latest = run_query('select max(data_version) from ' ~ source_relation).columns[0].values()[0] -%}
        {%- if latest is none -%}
            {{ exceptions.raise_compiler_error('no landed data in ' ~ source_relation ~ ': run the ingest first') }}
        {%- endif -%}
        '{{ latest }}'
    {%- else -%}
        (select max(data_version) from {{ source_relation }})
    {%- endif -%}
{%- endmacro %}
