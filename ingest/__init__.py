"""Blob ingest: discover the raw container's CSV blobs and land them as typed, versioned parquet."""
