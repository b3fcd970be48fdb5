"""Ingest stage: discover the raw container's blobs and land them as typed, versioned parquet.

May import `tamales_inc.core` only (settings, errors, file safety); the later stages import the
raw-data contract from `ingest.contract`, never the reverse. The sample container generator is
its own subpackage, `ingest.sample`.
"""
