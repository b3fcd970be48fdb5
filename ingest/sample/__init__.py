"""Sample container generator: a stand-in for the raw container, quirk for quirk.

`catalog` holds the fixed vocabulary (products, zones, regions, Spark ids), `model` the latent
demand model behind the numbers, `writer` lays them out as the container's CSV blobs, `upload`
puts a written folder in an Azure container and `provision` generates the built-in sample for an
ingest with no source configured. `python -m ingest.sample` is the command line.
"""

from ingest.sample.upload import upload
from ingest.sample.writer import DEFAULT_VERSIONS, SampleSummary, generate

__all__ = ["DEFAULT_VERSIONS", "SampleSummary", "generate", "upload"]
