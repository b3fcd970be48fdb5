{#- Stable text key: accents stripped, lower case, runs of other characters collapsed to `-`. -#}
{% macro slugify(text) -%}
    trim(regexp_replace(lower(strip_accents({{ text }})), '[^a-z0-9]+', '-', 'g'), '-')
{%- endmacro %}

{#- Empty or blank text to NULL, otherwise trimmed. -#}
{% macro clean_text(text) -%}
    nullif(trim({{ text }}), '')
{%- endmacro %}
