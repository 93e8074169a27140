"""The access in force for the current request or task: who, for what purpose, how enforced.

The HTTP middleware binds one :class:`Access` per request in a context variable; it follows the
request into the thread pool where the hub runs, so the hub's hooks (which know nothing of HTTP)
see it. In-process callers bind their own with :func:`acting_as`. When nothing is bound the
caller is trusted in-process code (seeding, the CLI) in demo mode, and personal data is withheld
from it in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from cityos.privacy.tokens import Principal

#: Request header naming the purpose of a read (a consent purpose, e.g. ``mobility-planning``).
PURPOSE_HEADER = "CityOS-Purpose"
#: Request header carrying the justification of an emergency (break-glass) access.
BREAK_GLASS_HEADER = "CityOS-Break-Glass"


@dataclass(frozen=True)
class Access:
    """One caller's access.

    Attributes
    ----------
    principal
        The verified caller.
    purpose
        The declared purpose, or None.
    justification
        The break-glass justification, or None (set only for roles allowed to break the glass).
    enforced
        False for the open demo mode's anonymous caller: scopes and consent are not checked.
    client
        The client address, for the audit trail.
    """

    principal: Principal
    purpose: str | None = None
    justification: str | None = None
    enforced: bool = True
    client: str | None = None

    @property
    def break_glass(self) -> bool:
        return self.justification is not None


_current: ContextVar[Access | None] = ContextVar("cityos_privacy_access", default=None)


def current_access() -> Access | None:
    """The access bound to this request or task, or None."""
    return _current.get()


@contextmanager
def acting_as(access: Access) -> Iterator[Access]:
    """Bind ``access`` for the code in the ``with`` block (nesting restores the outer one)."""
    token = _current.set(access)
    try:
        yield access
    finally:
        _current.reset(token)
