"""Real-data accuracy benchmark: public monthly series written as a raw container, run through
the real pipeline, scored on the held-out months against statsforecast's textbook models.

`series` (which series, as exact integers, and the cut-offs) <- `container` (the raw container of
one cut-off) <- `forecasts` (what every model forecasts for the held-out months) <- `scoring`
(WAPE, MASE, coverage) <- `report` (Markdown tables, the docs section).
"""
