"""Shared core: settings, errors, file safety (atomic writes, locks), months, CLI convention.

Imports nothing from the rest of the project; every stage may import it.
"""
