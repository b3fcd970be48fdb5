{#- English three-letter month names, January first. -#}
{% macro month_abbreviations() -%}
    {{ return(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']) }}
{%- endmacro %}

{#- English three-letter month name (`Jan` .. `Dec`) to its number 1-12; NULL for anything else. -#}
{% macro month_number(month_name) -%}
    case {{ month_name }}
        {%- for name in month_abbreviations() %}
        when '{{ name }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Month number 1-12 to its English three-letter name (`Jan` .. `Dec`); NULL for anything else. -#}
{% macro month_abbreviation(month_number) -%}
    case {{ month_number }}
        {%- for name in month_abbreviations() %}
        when {{ loop.index }} then '{{ name }}'
        {%- endfor %}
    end
{%- endmacro %}
