"""``/privacy/v1/releases``: de-identified releases for data buyers, services and operators.

* ``POST /privacy/v1/releases/aggregate`` — a differentially private statistic (count, sum,
  mean, histogram) of one attribute of a dataset (an entity type), charged to the consumer's
  privacy budget on that dataset (``CITYOS_PRIVACY_DP_EPSILON_BUDGET``); an exhausted budget is
  refused with 403 ``PrivacyBudgetExhausted``.
* ``POST /privacy/v1/releases/k-anonymous`` — the records of a dataset generalised by Mondrian
  to be k-anonymous (k >= 5) and l-diverse, with k and l verified on the output.
* ``GET /privacy/v1/releases/budget?dataset=...`` — the caller's budget on a dataset.

The consumer is the token's ``org`` (else its ``sub``). Every release is audited.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from cityos.hub.broker import Hub
from cityos.privacy.access import Access
from cityos.privacy.audit import AuditEntry, AuditTrail
from cityos.privacy.budget import PrivacyBudgets
from cityos.privacy.caller import caller, json_body, tenant_of
from cityos.privacy.consent_store import now_us
from cityos.privacy.datasets import rows_of
from cityos.privacy.dp import (
    STATISTICS,
    bound_contributions,
    dp_count,
    dp_histogram,
    dp_mean,
    dp_sum,
)
from cityos.privacy.errors import Forbidden, InvalidPrivacyRequest
from cityos.privacy.kanonymity import anonymise
from cityos.privacy.personal import PersonalData
from cityos.privacy.scopes import allowed

#: Smallest k the city releases at (a linkage attack must find at least this many candidates).
MIN_K = 5
RELEASE_ROLES = ("data_buyer", "service", "operator")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


def _consumer(access: Access) -> str:
    return access.principal.org or access.principal.subject


def _name(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise InvalidPrivacyRequest(f"'{key}' must be an entity type or attribute name")
    return value


def _members(body: Any, allowed_keys: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidPrivacyRequest("the request must be a JSON object")
    unknown = sorted(set(body) - allowed_keys)
    if unknown:
        raise InvalidPrivacyRequest(f"unknown member(s): {', '.join(unknown)}")
    return body


def _check_read(access: Access, tenant: str, dataset: str) -> None:
    if not allowed(access.principal.scopes, "read", tenant, dataset):
        raise Forbidden(f"the token has no 'read' scope on type {dataset!r}")


def release_router(
    hub: Hub, personal: PersonalData, budgets: PrivacyBudgets, trail: AuditTrail
) -> APIRouter:
    router = APIRouter(prefix="/privacy/v1/releases", tags=["Privacy"])

    def audit(access: Access, tenant: str, action: str, dataset: str, outcome: str, n: int) -> None:
        trail.append(
            AuditEntry(
                at_us=now_us(),
                tenant=tenant,
                actor=access.principal.subject,
                roles=tuple(sorted(access.principal.roles)),
                org=access.principal.org,
                action=action,
                outcome=f"{outcome}:{dataset}",
                purpose=access.purpose,
                entities=n,
                client=access.client,
            )
        )

    @router.post("/aggregate", summary="A differentially private statistic of a dataset")
    async def aggregate(request: Request) -> dict[str, Any]:
        access = caller(*RELEASE_ROLES)
        tenant = tenant_of(request)
        body = _members(
            await json_body(request),
            {
                "dataset",
                "statistic",
                "attribute",
                "epsilon",
                "bounds",
                "categories",
                "contributions",
            },
        )
        dataset = _name(body, "dataset")
        _check_read(access, tenant, dataset)
        statistic = body.get("statistic")
        if statistic not in STATISTICS:
            raise InvalidPrivacyRequest(f"'statistic' must be one of {', '.join(STATISTICS)}")
        attribute = (
            _name(body, "attribute") if statistic != "count" or "attribute" in body else None
        )
        epsilon = body.get("epsilon")
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, int | float)
            or not 0 < epsilon <= 10
        ):
            raise InvalidPrivacyRequest("'epsilon' must be a number in (0, 10]")
        contributions = body.get("contributions", 1)
        if (
            isinstance(contributions, bool)
            or not isinstance(contributions, int)
            or not 1 <= contributions <= 100
        ):
            raise InvalidPrivacyRequest("'contributions' must be an integer in 1..100")
        bounds = body.get("bounds")
        if statistic in ("sum", "mean"):
            ok = (
                isinstance(bounds, list)
                and len(bounds) == 2
                and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
                and bounds[0] < bounds[1]
            )
            if not ok:
                raise InvalidPrivacyRequest(
                    "'bounds' must be [lower, upper] numbers, lower < upper"
                )
        categories = body.get("categories")
        if statistic == "histogram" and (
            not isinstance(categories, list)
            or not categories
            or len(categories) > 1000
            or not all(isinstance(c, str) for c in categories)
        ):
            raise InvalidPrivacyRequest("'categories' must be a non-empty list of strings")
        consumer = _consumer(access)

        def release() -> dict[str, Any]:
            budget = budgets.spend(tenant, dataset, consumer, float(epsilon))
            rows = rows_of(hub, tenant, dataset, personal)
            if attribute is None:
                pairs = [(s, 1) for s, _ in rows]
            else:
                pairs = [(s, v[attribute]) for s, v in rows if v.get(attribute) is not None]
            if statistic in ("sum", "mean"):
                pairs = [
                    (s, float(v))
                    for s, v in pairs
                    if isinstance(v, int | float) and not isinstance(v, bool)
                ]
            values = bound_contributions(pairs, contributions)
            if statistic == "count":
                value: Any = dp_count(values, epsilon, contributions)
            elif statistic == "sum":
                value = dp_sum(values, tuple(bounds), epsilon, contributions)
            elif statistic == "mean":
                value = dp_mean(values, tuple(bounds), epsilon, contributions)
            else:
                value = dp_histogram([str(v) for v in values], categories, epsilon, contributions)
            audit(access, tenant, "release.dp", dataset, f"{statistic}", len(values))
            return {
                "dataset": dataset,
                "statistic": statistic,
                "attribute": attribute,
                "epsilon": epsilon,
                "contributions": contributions,
                "value": value,
                "budget": budget.to_json(),
            }

        return await run_in_threadpool(release)

    @router.post("/k-anonymous", summary="A k-anonymous, l-diverse record-level release")
    async def k_anonymous(request: Request) -> dict[str, Any]:
        access = caller(*RELEASE_ROLES)
        tenant = tenant_of(request)
        body = _members(
            await json_body(request), {"dataset", "quasiIdentifiers", "sensitive", "k", "l"}
        )
        dataset = _name(body, "dataset")
        _check_read(access, tenant, dataset)
        qis = body.get("quasiIdentifiers")
        if (
            not isinstance(qis, list)
            or not qis
            or len(qis) > 10
            or not all(isinstance(q, str) and _NAME_RE.match(q) for q in qis)
        ):
            raise InvalidPrivacyRequest("'quasiIdentifiers' must be a list of 1-10 attribute names")
        sensitive = _name(body, "sensitive")
        k, l = body.get("k"), body.get("l", 1)  # noqa: E741
        if isinstance(k, bool) or not isinstance(k, int) or not MIN_K <= k <= 1000:
            raise InvalidPrivacyRequest(f"'k' must be an integer in {MIN_K}..1000")
        if isinstance(l, bool) or not isinstance(l, int) or not 1 <= l <= 100:
            raise InvalidPrivacyRequest("'l' must be an integer in 1..100")
        if personal.subject_attribute in (*qis, sensitive):
            raise InvalidPrivacyRequest("the data subject is an identifier, not an attribute")

        def release() -> dict[str, Any]:
            rows = rows_of(hub, tenant, dataset, personal)
            wanted = [*qis, sensitive]
            records = [
                {a: v[a] for a in wanted}
                for _, v in rows
                if all(v.get(a) is not None for a in wanted)
            ]
            try:
                result = anonymise(records, qis, sensitive, k, l)
            except ValueError as exc:
                raise InvalidPrivacyRequest(f"no release possible: {exc}") from None
            audit(access, tenant, "release.k-anonymous", dataset, f"k={k},l={l}", len(records))
            return {
                "dataset": dataset,
                "k": k,
                "l": l,
                "verified": {
                    "minGroupSize": result.min_group,
                    "minDistinctSensitive": result.min_distinct,
                },
                "partitions": result.partitions,
                "suppressed": len(rows) - len(records),
                "records": result.records,
            }

        return await run_in_threadpool(release)

    @router.get("/budget", summary="My privacy budget on a dataset")
    async def budget(request: Request) -> dict[str, Any]:
        access = caller(*RELEASE_ROLES)
        dataset = request.query_params.get("dataset")
        if not isinstance(dataset, str) or not _NAME_RE.match(dataset):
            raise InvalidPrivacyRequest("name the dataset: ?dataset=<entity type>")
        found = await run_in_threadpool(budgets.get, tenant_of(request), dataset, _consumer(access))
        return found.to_json()

    return router
