"""Errors of the privacy layer, in the one CityOS hierarchy (:mod:`cityos.core.errors`).

Each maps to RFC 7807 problem details under the CityOS problem base; the HTTP layer adds the
headers a status needs (``WWW-Authenticate`` on 401, RFC 6750 §3; ``Retry-After`` on 429,
RFC 6585 §4).
"""

from __future__ import annotations

from cityos.core.errors import CITYOS_PROBLEM_BASE, CityOSError


class Unauthenticated(CityOSError):
    """No valid bearer token: missing, malformed, forged, expired or for another audience."""

    type_uri = CITYOS_PROBLEM_BASE + "Unauthenticated"
    title = "Authentication required"
    status = 401

    def __init__(self, detail: str, *, error: str = "invalid_token", **extra: object) -> None:
        super().__init__(detail, **extra)
        #: The RFC 6750 error code for ``WWW-Authenticate`` (``invalid_token`` or empty).
        self.error = error


class Forbidden(CityOSError):
    """An authenticated caller without the scope, role or consent the request needs."""

    type_uri = CITYOS_PROBLEM_BASE + "Forbidden"
    title = "Forbidden"
    status = 403


class TooManyRequests(CityOSError):
    """The client spent its request allowance; ``retry_after_s`` says when to come back."""

    type_uri = CITYOS_PROBLEM_BASE + "TooManyRequests"
    title = "Too many requests"
    status = 429

    def __init__(self, detail: str, *, retry_after_s: int, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.retry_after_s = retry_after_s


class PrivacyBudgetExhausted(CityOSError):
    """A differential-privacy release would spend more than the consumer's remaining budget."""

    type_uri = CITYOS_PROBLEM_BASE + "PrivacyBudgetExhausted"
    title = "Privacy budget exhausted"
    status = 403


class InvalidPrivacyRequest(CityOSError):
    """A privacy API request with bad input (consent fields, release parameters...)."""

    type_uri = CITYOS_PROBLEM_BASE + "InvalidPrivacyRequest"
    title = "Invalid privacy request"
    status = 400


class PrivacyResourceNotFound(CityOSError):
    """A consent, audit entry or dataset that does not exist (or is not the caller's)."""

    type_uri = CITYOS_PROBLEM_BASE + "NotFound"
    title = "Not found"
    status = 404
