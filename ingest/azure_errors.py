"""One actionable line for each Azure SDK failure (never the token), with hints for the usual
causes: access, a missing container, an unreachable or silent service, an API version the
service (Azurite) does not support."""

from __future__ import annotations

from ingest.errors import IngestError

API_VERSION_HINT = (
    "the service does not support this SDK's API version; Azurite needs "
    "--skipApiVersionCheck (`just azurite` starts it so)"
)
RETRIES = 3  # the SDK's retries after the first attempt (see `ingest.source`)


def api_version_hint(exc: BaseException) -> str | None:
    """The hint for the service's answer to an API version it does not support (Azurite
    without `--skipApiVersionCheck`: HTTP 400 `InvalidHeaderValue`), else None."""
    status = getattr(exc, "status_code", None)
    code = _code(exc)
    text = str(exc)
    if status == 400 and (
        code in ("InvalidHeaderValue", "INVALID_HEADER_VALUE") or "API version" in text
    ):
        return API_VERSION_HINT
    if "API version" in text and "not supported" in text:
        return API_VERSION_HINT
    return None


def azure_error(exc: Exception, what: str, timeout: float | None = None) -> IngestError:
    """`what` failed because of `exc`, in one line with what to do next."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceModifiedError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    status = getattr(exc, "status_code", None)
    code = _code(exc)
    if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
        return IngestError(
            f"{what}: access denied (HTTP {status} {code}); the SAS token or account key is "
            "expired, invalid or lacks read+list permission; set TAMALES_BLOB_URL to a fresh "
            "container SAS URL (sp=rl) or fix AZURE_STORAGE_CONNECTION_STRING"
        )
    if isinstance(exc, ResourceModifiedError) or status == 412:
        return IngestError(
            f"{what}: the blob changed while it was being ingested; rerun the ingest"
        )
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return IngestError(
            f"{what}: not found (HTTP 404 {code}); check the container name in "
            "TAMALES_BLOB_URL or TAMALES_CONTAINER"
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        if timeout is not None and "timed out" in str(exc).lower():
            return IngestError(
                f"{what}: the storage service did not answer within {timeout:g} s, "
                f"{RETRIES} retries included ({first_line(exc)}); check the URL and the "
                "service, or raise TAMALES_BLOB_TIMEOUT"
            )
        return IngestError(
            f"{what}: cannot reach the storage service after retries ({first_line(exc)}); "
            "check the URL and the network"
        )
    hint = api_version_hint(exc)
    if hint:
        return IngestError(f"{what}: HTTP {status} {code}: {hint}")
    if isinstance(exc, HttpResponseError):
        return IngestError(f"{what}: HTTP {status} {code}")
    if isinstance(exc, IngestError):
        return exc
    return IngestError(f"{what}: {type(exc).__name__}: {first_line(exc)}")


def _code(exc: BaseException) -> object:
    """The service's error code (`InvalidHeaderValue`), else the HTTP reason, else None."""
    code = getattr(exc, "error_code", None) or getattr(
        getattr(exc, "response", None), "reason", None
    )
    return getattr(code, "value", code)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
