"""The test suite (a package, so `tests.conftest` is this folder's and not a `tests` package
that a dependency installs into site-packages)."""
