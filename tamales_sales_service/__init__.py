"""Tamales sales service: a read-only REST API over the published warehouse and forecasts."""
