"""De-identification: keyed pseudonyms, Mondrian k-anonymity with l-diversity (verified on the
output, and against a linkage attack), and differentially private aggregates."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityos.privacy.dp import bound_contributions, dp_count, dp_histogram, dp_mean, dp_sum
from cityos.privacy.kanonymity import anonymise, verify
from cityos.privacy.pseudonym import load_pseudonym_keys

# -- pseudonyms ----------------------------------------------------------------------------------


def test_pseudonyms_per_purpose_and_rotation(tmp_path):
    keys = load_pseudonym_keys(tmp_path)
    path = tmp_path / "privacy" / "pseudonym-keys.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    a = keys.pseudonym("urn:ngsi-ld:Person:P1", "research")
    assert a == keys.pseudonym("urn:ngsi-ld:Person:P1", "research")
    assert a != keys.pseudonym("urn:ngsi-ld:Person:P1", "census")
    assert len(a) == 26 and a.isalnum()
    assert load_pseudonym_keys(tmp_path).pseudonym("urn:ngsi-ld:Person:P1", "research") == a
    assert keys.rotate() == 2
    b = keys.pseudonym("urn:ngsi-ld:Person:P1", "research")
    assert b != a
    assert keys.pseudonym("urn:ngsi-ld:Person:P1", "research", version=1) == a
    reloaded = load_pseudonym_keys(tmp_path)
    assert reloaded.version == 2 and reloaded.pseudonym("urn:ngsi-ld:Person:P1", "research") == b
    other_city = load_pseudonym_keys(tmp_path / "elsewhere")
    assert other_city.pseudonym("urn:ngsi-ld:Person:P1", "research", version=1) != a


def test_broken_pseudonym_key_file(tmp_path):
    path = tmp_path / "privacy" / "pseudonym-keys.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"secrets": [{"version": 1, "secret": "c2hvcnQ="}]}')
    with pytest.raises(ValueError, match="32 bytes"):
        load_pseudonym_keys(tmp_path)
    path.write_text("not json")
    with pytest.raises(ValueError, match="unreadable"):
        load_pseudonym_keys(tmp_path)


# -- k-anonymity ---------------------------------------------------------------------------------

ZONES = [f"Z{i}" for i in range(8)]
DIAGNOSES = ["asthma", "diabetes", "hypertension", "none", "arthritis", "depression"]


def _population(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "name": f"resident-{i}",
            "age": rng.randint(18, 95),
            "zone": rng.choice(ZONES),
            "household": rng.randint(1, 6),
            "sex": rng.choice(["F", "M"]),
            "diagnosis": rng.choice(DIAGNOSES),
        }
        for i in range(n)
    ]


QIS = ["age", "zone", "household", "sex"]


def _candidates(release: list[dict], person: dict) -> int:
    """How many released records a linkage attacker knowing ``person``'s quasi-identifiers
    cannot tell apart from them."""
    count = 0
    for record in release:
        ok = record["age"][0] <= person["age"] <= record["age"][1]
        ok = ok and person["zone"] in record["zone"] and person["sex"] in record["sex"]
        ok = ok and record["household"][0] <= person["household"] <= record["household"][1]
        count += ok
    return count


def test_linkage_attack_fails_at_k5():
    people = _population(1500, seed=5)
    # the attack works on the raw data: most residents are unique on these four attributes
    raw = Counter((p["age"], p["zone"], p["household"], p["sex"]) for p in people)
    unique = sum(1 for p in people if raw[(p["age"], p["zone"], p["household"], p["sex"])] == 1)
    assert unique > len(people) // 2
    release = anonymise(
        [{q: p[q] for q in [*QIS, "diagnosis"]} for p in people], QIS, "diagnosis", k=5, l=2
    )
    assert release.min_group >= 5 and release.min_distinct >= 2
    assert all("name" not in r for r in release.records)
    # the attacker holds a voter-roll style table of every resident's quasi-identifiers
    fewest = min(_candidates(release.records, p) for p in people)
    assert fewest >= 5
    # and cannot learn any diagnosis with certainty: every candidate set holds >= 2 diagnoses
    for person in people[:200]:
        seen = {
            r["diagnosis"]
            for r in release.records
            if r["age"][0] <= person["age"] <= r["age"][1]
            and person["zone"] in r["zone"]
            and person["sex"] in r["sex"]
            and r["household"][0] <= person["household"] <= r["household"][1]
        }
        assert len(seen) >= 2


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=10, max_value=200),
    k=st.integers(min_value=2, max_value=10),
    l=st.integers(min_value=1, max_value=3),
    seed=st.integers(min_value=0, max_value=10**6),
)
def test_k_and_l_hold_on_every_release(n, k, l, seed):  # noqa: E741
    people = _population(n, seed)
    records = [{q: p[q] for q in [*QIS, "diagnosis"]} for p in people]
    if n < k:
        return
    release = anonymise(records, QIS, "diagnosis", k=k, l=l)
    group, distinct = verify(release.records, QIS, "diagnosis")
    assert group >= k and distinct >= l
    assert len(release.records) == n
    assert Counter(r["diagnosis"] for r in release.records) == Counter(
        r["diagnosis"] for r in records
    )


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"k": 1}, "k must be"),
        ({"k": 5, "l": 0}, "l must be"),
        ({"k": 500}, "cannot be 500-anonymous"),
        ({"k": 5, "l": 9}, "fewer than 9 distinct"),
    ],
)
def test_k_anonymity_bad_inputs(kwargs, needle):
    records = [{q: p[q] for q in [*QIS, "diagnosis"]} for p in _population(100, 1)]
    with pytest.raises(ValueError, match=needle):
        anonymise(records, QIS, "diagnosis", **kwargs)
    with pytest.raises(ValueError, match="no value for"):
        anonymise([*records, {"age": 3}], QIS, "diagnosis", k=5)
    with pytest.raises(ValueError, match="quasi-identifier"):
        anonymise(records, [], "diagnosis", k=5)


# -- differential privacy -------------------------------------------------------------------------


def test_dp_count_is_unbiased_with_laplace_spread():
    values = list(range(1000))
    draws = [dp_count(values, epsilon=1.0) for _ in range(300)]
    assert abs(statistics.mean(draws) - 1000) < 0.5
    spread = statistics.pstdev(draws)  # Laplace(1/ε): std √2 ≈ 1.41
    assert 1.0 < spread < 1.9
    wide = statistics.pstdev([dp_count(values, epsilon=1.0, contributions=3) for _ in range(300)])
    assert wide > 2 * spread  # three records per subject: three times the noise


def test_dp_sum_clamps_and_mean_is_close():
    values = [10.0] * 500 + [10_000.0] * 10  # outliers clamp to the upper bound
    sums = [dp_sum(values, (0.0, 100.0), epsilon=1.0) for _ in range(100)]
    assert abs(statistics.mean(sums) - (500 * 10 + 10 * 100)) < 60
    mean = dp_mean([float(v) for v in range(101)] * 20, (0.0, 100.0), epsilon=2.0)
    assert mean is not None and abs(mean - 50.0) < 2.0


def test_dp_histogram_and_contribution_bound():
    values = ["shuttle"] * 300 + ["BRT"] * 100 + ["car"] * 5
    counts = dp_histogram(values, ["shuttle", "BRT"], epsilon=1.0)
    assert set(counts) == {"shuttle", "BRT", "(other)"}
    assert abs(counts["shuttle"] - 300) < 20 and abs(counts["BRT"] - 100) < 20
    assert all(v >= 0 for v in counts.values())
    rows = [("a", 1), ("a", 2), ("a", 3), ("b", 4)]
    assert bound_contributions(rows, 2) == [1, 2, 4]
    with pytest.raises(ValueError):
        bound_contributions(rows, 0)


@pytest.mark.parametrize("epsilon", [0, -1, 11, float("nan")])
def test_dp_refuses_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        dp_count([1, 2, 3], epsilon=epsilon)


def test_dp_refuses_bad_bounds():
    with pytest.raises(ValueError, match="bounds"):
        dp_sum([1.0], (5.0, 5.0), epsilon=1.0)


def test_os_random_is_used_for_release_order():
    # two releases of the same data are shuffled independently
    records = [{q: p[q] for q in [*QIS, "diagnosis"]} for p in _population(200, 3)]
    first = anonymise(records, QIS, "diagnosis", k=5).records
    second = anonymise(records, QIS, "diagnosis", k=5).records
    assert first != second  # equal by chance with probability about 1/200!
