"""Verifiable-voting benchmark: a 5-option referendum with one ballot per resident.

In one process: the key ceremony (3 trustees, threshold 2); every ballot encrypted with its
proofs (the voter's device), then cast (proofs checked by the ballot box); the homomorphic tally
and its threshold decryption; and the offline verifier over the whole record. Prints ballots/s
for each stage, the verifier's time as a ratio to the tally's (tally + decryption), and the
encryption time as a ratio to the raw cost of the same number of libsodium scalar
multiplications (the floor of any implementation on this group).

Run: ``.venv/bin/python bench/voting.py [--voters 20000] [--options 5]``.
"""

from __future__ import annotations

import argparse
import random
import time

import orjson

from cityos.services.governance.voting.ballots import encrypt_ballot
from cityos.services.governance.voting.election import Election, Manifest
from cityos.services.governance.voting.group import base_mul, mul, random_scalar
from cityos.services.governance.voting.record import verify_record
from cityos.services.governance.voting.trustees import key_ceremony

#: Scalar multiplications per option in an encrypted selection (ciphertext 2, real branch 2,
#: simulated branch 4): the floor compared with.
MULS_PER_OPTION = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=20_000)
    parser.add_argument("--options", type=int, default=5)
    args = parser.parse_args()
    n, k = args.voters, args.options
    options = tuple(f"option-{j}" for j in range(k))
    trustees, published = key_ceremony(3, 2, "bench")
    election = Election(Manifest("bench", "Referendum", options, 3, 2), published)
    key = election.public_key
    rng = random.Random(1)

    start = time.perf_counter()
    ballots = [encrypt_ballot("bench", key, f"v{i}", k, rng.randrange(k)) for i in range(n)]
    encrypt_s = time.perf_counter() - start

    x, point = random_scalar(), base_mul(random_scalar())
    start = time.perf_counter()
    for _ in range(min(n, 2000) * k * MULS_PER_OPTION):
        mul(x, point)
    raw_s = (time.perf_counter() - start) * n / min(n, 2000)

    start = time.perf_counter()
    for ballot in ballots:
        election.cast(ballot, ballot.voter)
    cast_s = time.perf_counter() - start
    election.close()

    start = time.perf_counter()
    record = election.record(election.decrypt_with(trustees[:2]))
    tally_s = time.perf_counter() - start
    document = orjson.loads(orjson.dumps(record))

    start = time.perf_counter()
    result = verify_record(document)
    verify_s = time.perf_counter() - start
    assert result.valid, result.problems[:3]
    counts = ", ".join(f"{o} {c}" for o, c in result.counts.items())
    print(f"referendum: {n:,} ballots x {k} options, 3 trustees (2 decrypt): {counts}")
    print(f"  encrypt + prove  {n / encrypt_s:8.0f} ballots/s   (raw scalar mults: "
          f"{encrypt_s / raw_s:.2f}x the floor)")  # fmt: skip
    print(f"  cast (verify)    {n / cast_s:8.0f} ballots/s")
    print(f"  tally + decrypt  {n / tally_s:8.0f} ballots/s   ({tally_s:.2f} s)")
    print(f"  record verifier  {n / verify_s:8.0f} ballots/s   ({verify_s:.1f} s, "
          f"{verify_s / tally_s:.1f}x the tally)")  # fmt: skip
    print(f"  record size      {len(orjson.dumps(record)) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
