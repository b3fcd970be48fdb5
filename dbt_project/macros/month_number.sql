{#- English three-letter month name (`Jan` .. `Dec`) to its number 1-12; NULL for anything else. -#}
{% macro month_number(month_name) -%}
    case {{ month_name }}
        {%- for name in ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] %}
        when '{{ name }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}
