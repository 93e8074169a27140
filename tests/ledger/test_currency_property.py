"""Property: any sequence of payments, issuances, rewards and demurrage, committed in any batching,
conserves money, never overdraws, and replays from the log to the stored balances."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityos.hub.backends import open_storage
from cityos.ledger.accounts import RewardCapReached
from cityos.ledger.did import did_of
from cityos.ledger.messages import transfer
from cityos.ledger.replay import replay
from cityos.ledger.service import open_ledger

KEYS = [Ed25519PrivateKey.generate() for _ in range(4)]
DIDS = [did_of(k) for k in KEYS]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(0, 3), st.integers(0, 3), st.integers(1, 5_000)),
        st.tuples(st.just("issue"), st.integers(0, 3), st.integers(1, 3_000)),
        st.tuples(st.just("reward"), st.integers(0, 3), st.integers(1, 30)),
        st.tuples(st.just("demurrage"), st.integers(1, 1_000)),
        st.tuples(st.just("cut")),
    ),
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_histories_conserve_money_and_replay(history):
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(f"sqlite:///{Path(tmp) / 'hub.db'}")
        ledger = open_ledger(storage, Path(tmp))
        for did in DIDS:
            ledger.open_account(did)
        committed = [0] * len(KEYS)  # last committed nonce per payer
        pending = [0] * len(KEYS)  # last nonce signed into the open batch
        batch: list = []
        count = 0

        def flush() -> None:
            for message, outcome in zip(batch, ledger.currency.commit(batch), strict=True):
                if outcome.status == "committed":
                    payer = DIDS.index(message["payer"])
                    committed[payer] = max(committed[payer], message["nonce"])
            batch.clear()
            pending[:] = committed

        for op in [*history, ("cut",)]:
            count += 1
            if op[0] == "pay":
                if op[1] != op[2]:
                    pending[op[1]] += 1
                    batch.append(
                        transfer(KEYS[op[1]], DIDS[op[2]], op[3], pending[op[1]], f"p{count}")
                    )
                continue
            flush()  # any other operation ends the open batch of payments
            if op[0] == "issue":
                ledger.issue(DIDS[op[1]], op[2], "grant", f"i{count}")
            elif op[0] == "reward":
                try:
                    ledger.reward(DIDS[op[1]], "walking", op[2], "2026-12", f"r{count}")
                except RewardCapReached:
                    pass
            elif op[0] == "demurrage":
                month = 1 + sum(1 for o in history[: count - 1] if o[0] == "demurrage")
                ledger.demurrage(f"{2026 + month // 12}-{month % 12 + 1:02d}", op[1])
        accounts = ledger.currency.accounts()
        assert sum(a.balance for a in accounts.values()) == 0
        assert all(a.balance >= 0 for a in accounts.values() if a.kind != "issuer")
        assert [accounts[d].nonce for d in DIDS] == committed
        state = replay((e.body for e in ledger.log.entries()), ledger.issuer_did)
        assert state.accounts == accounts
        ledger.audit()
        storage.close()
