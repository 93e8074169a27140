"""One exception hierarchy, mapped once to RFC 7807 problem details.

Hub errors carry the NGSI-LD error type URIs (ETSI GS CIM 009 §5.5.2, Table 5.5.2-1); other layers
use CityOS problem types under :data:`CITYOS_PROBLEM_BASE`.
"""

from __future__ import annotations

from typing import Any

NGSI_LD_ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
CITYOS_PROBLEM_BASE = "https://cityos.dev/problems/"


class CityOSError(Exception):
    """Base of every error CityOS reports to a caller.

    Parameters
    ----------
    detail
        A human-readable explanation specific to this occurrence.
    instance
        Optional URI reference identifying the specific occurrence.
    extra
        Additional members to add to the problem details object.
    """

    type_uri: str = CITYOS_PROBLEM_BASE + "Error"
    title: str = "Error"
    status: int = 500

    def __init__(self, detail: str, *, instance: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.instance = instance
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        """RFC 7807 problem details for this error."""
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.instance:
            body["instance"] = self.instance
        body.update(self.extra)
        return body


class NgsiLdError(CityOSError):
    """An error with an NGSI-LD error type."""


class InvalidRequest(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "InvalidRequest"
    title = "Invalid request"
    status = 400


class BadRequestData(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "BadRequestData"
    title = "Bad request data"
    status = 400


class AlreadyExists(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "AlreadyExists"
    title = "Already exists"
    status = 409


class OperationNotSupported(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "OperationNotSupported"
    title = "Operation not supported"
    status = 422


class ResourceNotFound(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "ResourceNotFound"
    title = "Resource not found"
    status = 404


class NonexistentTenant(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "NonexistentTenant"
    title = "Nonexistent tenant"
    status = 404


class NoMultiTenantSupport(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "NoMultiTenantSupport"
    title = "No multi-tenant support"
    status = 501


class TooComplexQuery(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "TooComplexQuery"
    title = "Too complex query"
    status = 403


class TooManyResults(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "TooManyResults"
    title = "Too many results"
    status = 403


class LdContextNotAvailable(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "LdContextNotAvailable"
    title = "JSON-LD @context not available"
    status = 503


class LdContextTimeout(LdContextNotAvailable):
    """The remote @context server did not answer in time (504, as Orion-LD answers)."""

    status = 504


class InvalidLdContext(NgsiLdError):
    """The @context was fetched but is not a valid JSON-LD context."""

    type_uri = NGSI_LD_ERRORS + "LdContextNotAvailable"
    title = "Invalid JSON-LD @context"
    status = 503


class NotAcceptable(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "NotAcceptable"
    title = "Not acceptable"
    status = 406


class UnsupportedMediaType(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "UnsupportedMediaType"
    title = "Unsupported media type"
    status = 415


class PayloadTooLarge(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "BadRequestData"
    title = "Payload too large"
    status = 413


class MethodNotAllowed(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "InvalidRequest"
    title = "Method not allowed"
    status = 405


class InternalError(NgsiLdError):
    type_uri = NGSI_LD_ERRORS + "InternalError"
    title = "Internal error"
    status = 500
