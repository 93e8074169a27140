"""Which operation each HTTP route needs, in one visible table.

Routes are matched by method and path prefix, first match wins. ``public`` routes need no token
even in production; ``authenticated`` routes need a valid token and check roles themselves
(the privacy API); the others need a scope for their operation on the request's tenant (and on
the ``type`` the request names, when it names one).
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC = "public"
AUTHENTICATED = "authenticated"


@dataclass(frozen=True)
class Rule:
    """``methods`` (``*`` any) on paths starting with ``prefix`` need ``operation``."""

    methods: frozenset[str]
    prefix: str
    operation: str
    exact: bool = False

    def matches(self, method: str, path: str) -> bool:
        if "*" not in self.methods and method not in self.methods:
            return False
        return path == self.prefix if self.exact else path.startswith(self.prefix)


def _rule(methods: str, prefix: str, operation: str, *, exact: bool = False) -> Rule:
    return Rule(frozenset(methods.split(",")), prefix, operation, exact)


NGSI = "/ngsi-ld/v1"
#: The route table (first match wins); anything unlisted needs ``read``.
RULES: tuple[Rule, ...] = (
    _rule("GET,HEAD", "/health", PUBLIC, exact=True),
    _rule("GET,HEAD", "/.well-known/jwks.json", PUBLIC, exact=True),
    # The page shells and their bundle hold no city data; the data they load does.
    _rule("GET,HEAD", "/", PUBLIC, exact=True),
    _rule("GET,HEAD", "/scenarios", PUBLIC, exact=True),
    _rule("GET,HEAD", "/portal", PUBLIC, exact=True),
    _rule("GET,HEAD", "/static/", PUBLIC),
    # GBFS is an open-data standard: station and vehicle status carry no personal data.
    _rule("GET,HEAD", "/mobility/v1/gbfs/", PUBLIC),
    _rule("*", "/privacy/v1/", AUTHENTICATED),
    # Proposals: citizens sign for themselves, operators answer; the endpoints check roles.
    _rule("POST", "/governance/v1/", AUTHENTICATED),
    _rule("POST,PUT,PATCH", "/mobility/v1/", "write"),
    _rule("DELETE", "/mobility/v1/", "delete"),
    # The ledger's checkpoints, keys and consistency proofs are hashes and signatures anyone may
    # audit; entries and accounts need read; the city's issuing key signs only for admins.
    _rule("GET,HEAD", "/ledger/v1/checkpoint", PUBLIC, exact=True),
    _rule("GET,HEAD", "/ledger/v1/checkpoint/witnessed", PUBLIC, exact=True),
    _rule("GET,HEAD", "/ledger/v1/keys", PUBLIC, exact=True),
    _rule("GET,HEAD", "/ledger/v1/proofs/", PUBLIC),
    _rule("GET,HEAD", "/ledger/v1/credentials/status", PUBLIC, exact=True),
    # Witnessing other logs: the log's own signature authenticates a checkpoint (c2sp.org).
    _rule("GET,HEAD", "/ledger/v1/witness", PUBLIC, exact=True),
    _rule("POST", "/ledger/v1/witness/add-checkpoint", PUBLIC, exact=True),
    _rule("POST", "/ledger/v1/credentials/verify", "read", exact=True),
    _rule("POST", "/ledger/v1/transactions", "write"),
    _rule("POST", "/ledger/v1/notarisations", "write", exact=True),
    _rule("POST,PUT,PATCH,DELETE", "/ledger/v1/", "admin"),
    # IoT: provisioning issues credentials (admin); commands actuate devices (write).
    _rule("POST,DELETE", "/iot/v1/devices", "admin"),
    _rule("POST", "/iot/v1/commands/", "write"),
    _rule("POST", f"{NGSI}/entityOperations/query", "read"),
    _rule("POST", f"{NGSI}/temporal/entityOperations/query", "read"),
    _rule("POST", f"{NGSI}/entityOperations/delete", "delete"),
    _rule("POST,DELETE,PUT,PATCH", f"{NGSI}/jsonldContexts", "admin"),
    _rule("GET,HEAD", f"{NGSI}/", "read"),
    _rule("DELETE", f"{NGSI}/", "delete"),
    _rule("POST,PUT,PATCH", f"{NGSI}/", "write"),
    _rule("*", "/", "read"),
)


def operation_for(method: str, path: str) -> str:
    """The operation (``read``/``write``/``delete``/``admin``), :data:`PUBLIC` or
    :data:`AUTHENTICATED` that a request needs."""
    for rule in RULES:
        if rule.matches(method, path):
            return rule.operation
    return "read"
