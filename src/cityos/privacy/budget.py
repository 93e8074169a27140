"""Privacy budgets: the total ε each consumer may spend on each dataset, tracked durably.

Spending is one conditional UPDATE (``spent + ε <= limit``), so concurrent releases from any
number of server processes can never overspend; a refused spend leaves the budget unchanged.
The budget is spent before the statistic is computed: a release that fails afterwards still
counts (the conservative choice).
"""

from __future__ import annotations

from dataclasses import dataclass

from cityos.privacy.consent_store import now_us
from cityos.privacy.database import PrivacyDatabase
from cityos.privacy.errors import PrivacyBudgetExhausted

#: Tolerance on float sums of ε [nats].
_EPS = 1e-9


@dataclass(frozen=True)
class Budget:
    """A consumer's budget on a dataset."""

    dataset: str
    consumer: str
    limit: float
    spent: float
    releases: int

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.spent)

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "consumer": self.consumer,
            "epsilonLimit": self.limit,
            "epsilonSpent": round(self.spent, 9),
            "epsilonRemaining": round(self.remaining, 9),
            "releases": self.releases,
        }


class PrivacyBudgets:
    """Budgets in the ``privacy_budgets`` table."""

    def __init__(self, db: PrivacyDatabase, default_limit: float) -> None:
        self.db = db
        self.default_limit = default_limit

    def get(self, tenant: str, dataset: str, consumer: str) -> Budget:
        with self.db.read() as conn:
            row = self.db.execute(
                conn,
                "SELECT epsilon_limit, epsilon_spent, releases FROM privacy_budgets "
                "WHERE tenant = ? AND dataset = ? AND consumer = ?",
                (tenant, dataset, consumer),
            ).fetchone()
        if row is None:
            return Budget(dataset, consumer, self.default_limit, 0.0, 0)
        return Budget(dataset, consumer, float(row[0]), float(row[1]), int(row[2]))

    def spend(self, tenant: str, dataset: str, consumer: str, epsilon: float) -> Budget:
        """Take ``epsilon`` from the budget.

        Raises
        ------
        PrivacyBudgetExhausted
            If less than ``epsilon`` remains (nothing is spent then).
        """
        if not epsilon > 0:
            raise ValueError("epsilon must be positive")
        now = now_us()
        conflict = "ON CONFLICT (tenant, dataset, consumer) DO NOTHING"
        with self.db.write() as conn:
            self.db.execute(
                conn,
                "INSERT INTO privacy_budgets (tenant, dataset, consumer, epsilon_limit, "
                f"epsilon_spent, releases, updated_at) VALUES (?,?,?,?,0,0,?) {conflict}",
                (tenant, dataset, consumer, self.default_limit, now),
            )
            cursor = self.db.execute(
                conn,
                "UPDATE privacy_budgets SET epsilon_spent = epsilon_spent + ?, "
                "releases = releases + 1, updated_at = ? WHERE tenant = ? AND dataset = ? "
                "AND consumer = ? AND epsilon_spent + ? <= epsilon_limit + ?",
                (epsilon, now, tenant, dataset, consumer, epsilon, _EPS),
            )
            spent = cursor.rowcount == 1
        budget = self.get(tenant, dataset, consumer)
        if not spent:
            raise PrivacyBudgetExhausted(
                f"the privacy budget of {consumer!r} on {dataset!r} has {budget.remaining:g} "
                f"of {budget.limit:g} epsilon left; this release needs {epsilon:g}",
                budget=budget.to_json(),
            )
        return budget
