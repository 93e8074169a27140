"""The local currency: issuance, signed transfers, nonces, idempotency, limits, conservation,
double-spend races, rewards, basic income, and balances recomputed from the log."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.ledger.accounts import (
    AccountExists,
    IdempotencyConflict,
    InsufficientFunds,
    ReplayedNonce,
    RewardCapReached,
    SpendingLimit,
    UnknownAccount,
)
from cityos.ledger.did import did_of
from cityos.ledger.log import LogIntegrityError
from cityos.ledger.messages import ForgedSignature, InvalidMessage, sign, transfer
from cityos.ledger.money import InvalidAmount
from cityos.ledger.rewards import UnknownRule


class Person:
    """A key holder with the next nonce to use."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.did = did_of(self.key)
        self.nonce = 0

    def pay(self, payee, amount, key=None, **kw):
        self.nonce += 1
        return transfer(self.key, payee.did, amount, self.nonce, key or f"t{self.nonce}", **kw)


@pytest.fixture
def city(ledger):
    """A librarian and a homemaker with 100.00 SJC each, a shop and the tax office."""
    people = {name: Person() for name in ("librarian", "homemaker", "shop", "tax", "pupil")}
    ledger.open_account(people["librarian"].did)
    ledger.open_account(people["homemaker"].did, daily_limit=5_000)
    ledger.open_account(people["pupil"].did)
    ledger.open_account(people["shop"].did, "merchant", service_class="spc_commercial")
    ledger.open_account(people["tax"].did, "public_body", service_class="public_good")
    ledger.issue(people["librarian"].did, 10_000, "opening grant", "grant-1")
    ledger.issue(people["homemaker"].did, 10_000, "opening grant", "grant-2")
    return people


def naive_balances(ledger):
    """Balances summed straight from the log entries (no state machine, no database rows)."""
    balances = defaultdict(int)
    for entry in ledger.log.entries():
        tx = json.loads(entry.body)["tx"]
        if tx["type"] == "transfer":
            balances[tx["payer"]] -= tx["amount"]
            balances[tx["payee"]] += tx["amount"]
        elif tx["type"] == "issue":
            balances[tx["issuer"]] -= tx["amount"]
            balances[tx["to"]] += tx["amount"]
    return dict(balances)


def stored_balances(ledger):
    return {did: a.balance for did, a in ledger.currency.accounts().items() if a.balance}


def test_payments_move_money_and_every_commit_is_a_log_entry(ledger, city):
    lib, shop, tax = city["librarian"], city["shop"], city["tax"]
    size = ledger.log.latest().size
    out = ledger.currency.commit_one(lib.pay(shop, 1_250, memo="books"))
    assert out.status == "committed" and out.seq == size
    ledger.currency.commit_one(lib.pay(tax, 3_000, purpose="tax"))
    assert ledger.currency.balance(lib.did) == 10_000 - 1_250 - 3_000
    assert ledger.currency.balance(shop.did) == 1_250
    assert ledger.currency.balance(ledger.issuer_did) == -20_000
    assert ledger.log.latest().size == size + 2
    assert json.loads(ledger.log.entry(out.seq).body)["tx"]["memo"] == "books"
    assert ledger.currency.account(shop.did).service_class == "spc_commercial"
    assert stored_balances(ledger) == {k: v for k, v in naive_balances(ledger).items() if v}
    assert "replay to the 6 stored accounts" in ledger.audit()


def test_forged_and_altered_signatures_are_refused(ledger, city):
    lib, home, shop = city["librarian"], city["homemaker"], city["shop"]
    thief = Person()
    stolen = transfer(thief.key, shop.did, 100, 1, "x")
    stolen["payer"] = lib.did  # claims to be the librarian, signed by the thief
    with pytest.raises(ForgedSignature):
        ledger.currency.commit_one(stolen)
    honest = lib.pay(shop, 100)
    for field, value in [("amount", 9_000), ("payee", home.did), ("nonce", 2)]:
        with pytest.raises(ForgedSignature):
            ledger.currency.commit_one({**honest, field: value})
    with pytest.raises(InvalidMessage, match="signature"):
        ledger.currency.commit_one({**honest, "signature": "AAAA"})
    with pytest.raises(InvalidMessage, match="not signed"):
        ledger.currency.commit_one({k: v for k, v in honest.items() if k != "signature"})
    # Only the city's issuing key creates money.
    fake = sign(
        {
            "type": "issue",
            "issuer": thief.did,
            "to": thief.did,
            "amount": 10**6,
            "reason": "free money",
            "idempotency_key": "x",
        },
        thief.key,
    )
    with pytest.raises(ForgedSignature, match="issuing key"):
        ledger.currency.commit_one(fake)
    relabelled = {**fake, "issuer": ledger.issuer_did}
    with pytest.raises(ForgedSignature):
        ledger.currency.commit_one(relabelled)
    assert ledger.currency.balance(lib.did) == 10_000
    ledger.audit()


def test_replays_are_idempotent_and_stale_nonces_refused(ledger, city):
    lib, shop = city["librarian"], city["shop"]
    payment = lib.pay(shop, 700, key="order-17")
    first = ledger.currency.commit_one(payment)
    again = ledger.currency.commit_one(payment)  # a retry, or an attacker replaying it
    assert again.status == "duplicate" and again.seq == first.seq
    assert ledger.currency.balance(shop.did) == 700
    lib.nonce -= 1
    with pytest.raises(ReplayedNonce):  # same nonce, new key: refused
        ledger.currency.commit_one(lib.pay(shop, 700, key="order-18"))
    lib.nonce += 5
    with pytest.raises(ReplayedNonce):  # a gap is refused too: nonces are strictly sequential
        ledger.currency.commit_one(lib.pay(shop, 700, key="order-19"))
    lib.nonce = 1
    with pytest.raises(IdempotencyConflict):  # same key, different payment
        ledger.currency.commit_one(lib.pay(shop, 900, key="order-17"))
    assert ledger.currency.balance(shop.did) == 700


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        (-5, InvalidAmount),
        (0, InvalidAmount),
        (12.5, InvalidAmount),
        ("12.50", InvalidAmount),
        (True, InvalidAmount),
        (10**16, InvalidAmount),
        (10_001, InsufficientFunds),
    ],
)
def test_bad_amounts_and_overspending_are_refused(ledger, city, amount, error):
    lib, shop = city["librarian"], city["shop"]
    if error is InsufficientFunds:
        message = lib.pay(shop, amount)
    else:  # unsignable or invalid values: the form is checked before the signature
        message = {**lib.pay(shop, 1), "amount": amount}
    with pytest.raises(error):
        ledger.currency.commit_one(message)
    assert ledger.currency.balance(lib.did) == 10_000


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"type": "mint"}, "type must be"),
        ({"currency": "KRW"}, "currency"),
        ({"payee": "did:web:shop.example"}, "payee"),
        ({"purpose": "bribe"}, "purpose"),
        ({"nonce": 0}, "nonce"),
        ({"idempotency_key": "has space"}, "idempotency_key"),
        ({"memo": "x" * 141}, "memo"),
        ({"extra": 1}, "unknown member"),
    ],
)
def test_malformed_messages_name_the_member(ledger, city, change, match):
    lib, shop = city["librarian"], city["shop"]
    message = {**lib.pay(shop, 10), **change}
    with pytest.raises(InvalidMessage, match=match):
        ledger.currency.commit_one(message)


def test_accounts_limits_and_public_payments(ledger, city):
    lib, home, shop, pupil = city["librarian"], city["homemaker"], city["shop"], city["pupil"]
    stranger = Person()
    with pytest.raises(UnknownAccount):
        ledger.currency.commit_one(lib.pay(stranger, 10))
    lib.nonce -= 1
    with pytest.raises(InvalidMessage, match="public body"):
        ledger.currency.commit_one(lib.pay(shop, 10, purpose="tax"))
    lib.nonce -= 1
    with pytest.raises(IdempotencyConflict):
        ledger.open_account(lib.did, daily_limit=1)
    again = ledger.signed(
        {"type": "open_account", "did": lib.did, "kind": "citizen", "idempotency_key": "open-again"}
    )
    with pytest.raises(AccountExists):
        ledger.currency.commit_one(again)
    with pytest.raises(InvalidMessage, match="service_class"):
        ledger.open_account(Person().did, "merchant")
    # The homemaker may spend 50.00 a day.
    day1 = datetime(2026, 12, 7, 9, tzinfo=UTC)
    ledger.currency.commit([home.pay(shop, 3_000)], now=day1)
    [refused] = ledger.currency.commit([home.pay(shop, 2_500)], now=day1)
    assert isinstance(refused.error, SpendingLimit)
    home.nonce -= 1
    [ok] = ledger.currency.commit([home.pay(pupil, 2_500)], now=day1.replace(day=8))
    assert ok.status == "committed"
    assert ledger.currency.balance(pupil.did) == 2_500
    ledger.audit()  # the limit replays from the entries' commit dates


def test_a_batch_commits_its_good_messages_under_one_checkpoint(ledger, city):
    lib, home, shop = city["librarian"], city["homemaker"], city["shop"]
    before = len(ledger.log.checkpoint_sizes())
    good1 = lib.pay(shop, 100)
    bad = lib.pay(shop, 10**9)
    lib.nonce -= 1
    good2 = lib.pay(shop, 200)
    outcomes = ledger.currency.commit([good1, bad, good2, good1, "junk", home.pay(shop, 50)])
    assert [o.status for o in outcomes] == [
        "committed",
        "rejected",
        "committed",
        "duplicate",
        "rejected",
        "committed",
    ]
    assert outcomes[3].seq == outcomes[0].seq
    assert len(ledger.log.checkpoint_sizes()) == before + 1
    assert ledger.currency.balance(shop.did) == 350


def test_concurrent_double_spend_exactly_one_succeeds(ledger, city):
    lib = city["librarian"]
    payees = [Person() for _ in range(12)]
    for p in payees:
        ledger.open_account(p.did)
    attempts = [transfer(lib.key, p.did, 10_000, 1, f"spend-{i}") for i, p in enumerate(payees)]
    results: list = [None] * len(attempts)
    barrier = threading.Barrier(len(attempts))

    def attempt(i):
        barrier.wait()
        results[i] = ledger.currency.commit([attempts[i]])[0]

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.status == "committed" for r in results) == 1
    assert all(
        isinstance(r.error, ReplayedNonce | InsufficientFunds)
        for r in results
        if r.status != "committed"
    )
    assert ledger.currency.balance(lib.did) == 0
    assert sum(ledger.currency.balance(p.did) for p in payees) == 10_000
    ledger.audit()


def test_volunteer_rewards_are_capped_per_month(ledger, city):
    pupil = city["pupil"].did
    assert ledger.reward(pupil, "volunteer", 12, "2026-11", "claim-1").status == "committed"
    out = ledger.reward(pupil, "volunteer", 12, "2026-11", "claim-2")  # only 8 hours left
    assert ledger.currency.balance(pupil) == 200_000
    assert json.loads(ledger.log.entry(out.seq).body)["tx"]["amount"] == 80_000
    with pytest.raises(RewardCapReached):
        ledger.reward(pupil, "volunteer", 1, "2026-11", "claim-3")
    ledger.reward(pupil, "volunteer", 1, "2026-12", "claim-4")  # a new month
    assert ledger.currency.balance(pupil) == 210_000
    with pytest.raises(UnknownRule):
        ledger.reward(pupil, "littering", 1, "2026-12", "claim-5")
    with pytest.raises(InvalidMessage):
        ledger.reward(pupil, "walking", 0, "2026-12", "claim-6")
    with pytest.raises(InvalidMessage, match="period"):
        ledger.reward(pupil, "walking", 1, "2026-13", "claim-7")
    # A hand-made reward message over the cap is refused by the state machine itself.
    forged = ledger.signed(
        {
            "type": "issue",
            "to": pupil,
            "amount": 5_000,
            "reason": "walk",
            "rule": "walking",
            "units": 30,
            "period": "2026-12",
            "idempotency_key": "manual",
        }
    )
    with pytest.raises(InvalidMessage, match="reward for these units is 9000"):
        ledger.currency.commit_one(forged)
    ledger.audit()


def test_basic_income_pays_each_citizen_once_per_period(ledger, city):
    citizens = [city[n].did for n in ("librarian", "homemaker", "pupil")]
    before = {d: ledger.currency.balance(d) for d in citizens}
    first = ledger.basic_income("2026-12", 5_000)
    assert [o.status for o in first] == ["committed"] * 3
    second = ledger.basic_income("2026-12", 5_000)
    assert [o.status for o in second] == ["duplicate"] * 3
    assert all(ledger.currency.balance(d) == before[d] + 5_000 for d in citizens)
    assert ledger.currency.balance(city["shop"].did) == 0  # merchants get none


def test_balances_are_recomputed_by_replaying_the_log(ledger, city):
    lib, home, shop, pupil = (city[n] for n in ("librarian", "homemaker", "shop", "pupil"))
    for i in range(20):
        ledger.currency.commit([lib.pay(shop, 10 + i), home.pay(pupil, 5 + i)])
    ledger.reward(pupil.did, "pm_trip", 3, "2026-12", "trips-1")
    ledger.basic_income("2026-12", 1_000)
    assert stored_balances(ledger) == {k: v for k, v in naive_balances(ledger).items() if v}
    ledger.audit()


def test_tampered_balance_rows_are_detected(ledger, city):
    lib, shop = city["librarian"], city["shop"]
    with ledger.db.write() as conn:
        ledger.db.execute(
            conn,
            "UPDATE ledger_accounts SET balance = balance + 1000000 WHERE did = ?",
            (lib.did,),
        )
    with pytest.raises(LogIntegrityError, match="differs from the log"):
        ledger.audit()
    with pytest.raises(LogIntegrityError, match="not conserved"):  # the service refuses to go on
        ledger.currency.commit_one(lib.pay(shop, 10))
    assert ledger.currency.balance(shop.did) == 0


def test_a_crash_mid_batch_changes_nothing(ledger, city, monkeypatch):
    lib, shop = city["librarian"], city["shop"]
    size = ledger.log.latest().size

    def crash(conn):
        raise OSError("disk full")

    monkeypatch.setattr(ledger.log, "sign", crash)
    with pytest.raises(OSError):
        ledger.currency.commit([lib.pay(shop, 10), lib.pay(shop, 20)])
    monkeypatch.undo()
    assert ledger.log.latest().size == size
    assert ledger.currency.balance(lib.did) == 10_000
    assert ledger.currency.account(lib.did).nonce == 0
    ledger.audit()
    lib.nonce = 0
    assert ledger.currency.commit_one(lib.pay(shop, 10)).seq == size


def test_data_trades_are_recorded_with_revenue_shares(ledger, city):
    shop, pupil, lib = city["shop"], city["pupil"], city["librarian"]
    shares = [{"provider": pupil.did, "amount": 700}, {"provider": lib.did, "amount": 300}]
    out = ledger.record_data_trade(
        "urn:dataset:pm-trips-2026-11", shop.did, "CC-BY-4.0", 1_000, shares, "trade-1"
    )
    tx = json.loads(ledger.log.entry(out.seq).body)["tx"]
    assert tx["type"] == "data_trade" and tx["shares"] == shares
    with pytest.raises(InvalidMessage, match="sum to 900"):
        ledger.record_data_trade(
            "urn:dataset:x",
            shop.did,
            "CC-BY-4.0",
            900 + 1,
            [*shares[:1], {"provider": lib.did, "amount": 200}],
            "trade-2",
        )
    access = ledger.record_data_trade("urn:dataset:air-quality", shop.did, "KOGL-1", 0, [], "use-1")
    assert json.loads(ledger.log.entry(access.seq).body)["tx"]["price"] == 0
    with pytest.raises(InvalidAmount):  # a price needs its shares; shares need a price
        ledger.record_data_trade("urn:dataset:x", shop.did, "CC-BY-4.0", 0, shares, "trade-4")
    with pytest.raises(InvalidMessage, match="shares"):
        ledger.record_data_trade("urn:dataset:x", shop.did, "CC-BY-4.0", 1_000, [], "trade-5")
    with pytest.raises(UnknownAccount):
        ledger.record_data_trade(
            "urn:dataset:x", Person().did, "CC-BY-4.0", 1_000, shares, "trade-3"
        )
    ledger.audit()


def test_demurrage_takes_a_share_of_every_balance_once_per_month(ledger, city):
    lib, home, shop = city["librarian"], city["homemaker"], city["shop"]
    ledger.currency.commit_one(lib.pay(shop, 999))
    before = {p.did: ledger.currency.balance(p.did) for p in (lib, home, shop)}
    supply = -ledger.currency.balance(ledger.issuer_did)
    out = ledger.demurrage("2026-12", 100)  # 1 % a month
    assert out.status == "committed"
    after = {d: ledger.currency.balance(d) for d in before}
    assert after == {d: b - b * 100 // 10_000 for d, b in before.items()}
    assert -ledger.currency.balance(ledger.issuer_did) == supply - sum(
        before[d] - after[d] for d in before
    )
    assert ledger.demurrage("2026-12", 100).status == "duplicate"
    again = ledger.signed(
        {"type": "demurrage", "period": "2026-12", "rate_bp": 100, "idempotency_key": "second-try"}
    )
    with pytest.raises(InvalidMessage, match="already applied"):
        ledger.currency.commit_one(again)
    for bad in (0, 1001, "100"):
        message = ledger.signed(
            {
                "type": "demurrage",
                "period": "2027-01",
                "rate_bp": bad,
                "idempotency_key": f"bad-{bad}",
            }
        )
        with pytest.raises(InvalidMessage, match="rate_bp"):
            ledger.currency.commit_one(message)
    assert stored_balances(ledger) == {
        k: v for k, v in naive_demurrage_balances(ledger).items() if v
    }
    ledger.audit()


def naive_demurrage_balances(ledger):
    """Naive sums of the log, demurrage included (each holder's balance at that point)."""
    balances = defaultdict(int)
    for entry in ledger.log.entries():
        tx = json.loads(entry.body)["tx"]
        if tx["type"] == "transfer":
            balances[tx["payer"]] -= tx["amount"]
            balances[tx["payee"]] += tx["amount"]
        elif tx["type"] == "issue":
            balances[tx["issuer"]] -= tx["amount"]
            balances[tx["to"]] += tx["amount"]
        elif tx["type"] == "demurrage":
            for did in list(balances):
                if did != tx["issuer"] and balances[did] > 0:
                    fee = balances[did] * tx["rate_bp"] // 10_000
                    balances[did] -= fee
                    balances[tx["issuer"]] += fee
    return dict(balances)
