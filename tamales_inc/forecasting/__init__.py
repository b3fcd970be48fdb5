"""Forecasting stage: feature mart -> models -> backtest -> registry -> forecasts and report.

May import `tamales_inc.core` and `tamales_inc.warehouse`; never the service.
"""
