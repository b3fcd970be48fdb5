{#- Stable text key: accents stripped, lower case, runs of other characters collapsed to `-`. -#}
{% macro slugify(text) -%}
    {{ trim_characters(replace_all_matches('lower(' ~ strip_accents(text) ~ ')', "'[^a-z0-9]+'", "'-'"), "'-'") }}
{%- endmacro %}

{#- Empty or blank text to NULL, otherwise trimmed. -#}
{% macro clean_text(text) -%}
    nullif(trim({{ text }}), '')
{%- endmacro %}

{#- An ERP calorie category in the market feed's vocabulary (`Low-Calorie` is the feed's `Light`). -#}
{% macro conformed_calorie_category(category) -%}
    case {{ category }}
        when 'Low-Calorie' then 'Light'
        else {{ category }}
    end
{%- endmacro %}
