{#- Text with every match of the regular expression `pattern` replaced by `replacement`. -#}
{% macro replace_all_matches(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('replace_all_matches', 'tamales')(text, pattern, replacement)) }}
{%- endmacro %}

{#- DuckDB replaces the first match only, unless given the `g` flag. -#}
{% macro default__replace_all_matches(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro spark__replace_all_matches(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}
