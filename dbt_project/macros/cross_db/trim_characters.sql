{#- Text with every leading and trailing character found in `characters` removed. -#}
{% macro trim_characters(text, characters) -%}
    {{ return(adapter.dispatch('trim_characters', 'tamales')(text, characters)) }}
{%- endmacro %}

{% macro default__trim_characters(text, characters) -%}
    trim({{ text }}, {{ characters }})
{%- endmacro %}

{% macro spark__trim_characters(text, characters) -%}
    trim(both {{ characters }} from {{ text }})
{%- endmacro %}
