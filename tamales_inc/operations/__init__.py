"""Day-two operations over every stage: `build` (each stage with the options it takes),
`status` (what is published, how old, whether it agrees) and `gc` (retention).

May import every stage of `tamales_inc` and `ingest`; the service never imports it.
"""
