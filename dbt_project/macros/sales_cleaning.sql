{#- Float noise: a non-zero amount smaller in magnitude than var('noise_threshold'). -#}
{% macro is_noise(sales) -%}
    coalesce({{ sales }} != 0 and abs({{ sales }}) < {{ var('noise_threshold', 1e-6) }}, false)
{%- endmacro %}

{#- Sales with float noise set to 0 (NULL stays NULL). -#}
{% macro denoised_sales(sales) -%}
    case when {{ is_noise(sales) }} then 0.0 else {{ sales }} end
{%- endmacro %}

{#- A return: a negative amount that is not float noise. -#}
{% macro is_return(sales) -%}
    coalesce({{ sales }} < 0 and not {{ is_noise(sales) }}, false)
{%- endmacro %}
