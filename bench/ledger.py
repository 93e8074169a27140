"""Ledger benchmark: signed transfers per second, and proof size and time as the log grows.

1. **Throughput.** ``--accounts`` funded citizens each sign transfers (signing is the client's
   work, done beforehand). Two runs in this process, on the same SQLite file:

   * ``ledger``: :meth:`Currency.commit` in batches of ``--batch`` - schema and signature checks,
     idempotency lookups, the state machine (nonce, funds, limits), balance writes, one log entry
     per transfer with its Merkle nodes, the conservation check and one signed checkpoint per batch;
   * ``raw``: the floor of the same work - SHA-256 of the message, Ed25519 verify, and one row
     insert per transfer, committed in batches of the same size.

   Prints transfers/s of each and their ratio (target >= 0.3). For context, published figures of
   permissioned blockchains: Hyperledger Besu about 520-1,200 tps (IBFT 2.0/QBFT, Hyperledger
   performance reports) and Hyperledger Fabric about 3,500 tps (Androulaki et al., EuroSys 2018).

2. **Proofs.** For logs of 10^3 ... 10^``--max-exp`` entries (a synthetic log that keeps only
   256-leaf chunk roots, with the same RFC 9162 recursion the database log uses): inclusion and
   consistency proof sizes [hashes and bytes] and median verification time [µs]; they must grow
   as log2(n). Also the persistent log's proof generation time at 10^3 ... 10^``--db-max-exp``
   entries.

Run: ``.venv/bin/python bench/ledger.py [--transfers 20000] [--batch 500] [--accounts 1000]
[--max-exp 7] [--db-max-exp 5] [--postgres]``; ``--postgres`` repeats the throughput run on
the PostgreSQL cluster of ``scripts/postgres.sh``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cityos.hub.backends import open_storage
from cityos.ledger.did import did_of, public_key_of
from cityos.ledger.hashing import leaf_hash, node_hash
from cityos.ledger.merkle import MerkleTree, consistency_path, inclusion_path, tree_head
from cityos.ledger.messages import signing_bytes, transfer
from cityos.ledger.proofs import verify_consistency, verify_inclusion
from cityos.ledger.service import open_ledger


def _signed_transfers(n: int, accounts: int, rng: random.Random) -> tuple[list, list]:
    keys = [Ed25519PrivateKey.generate() for _ in range(accounts)]
    nonces = [0] * accounts
    messages = []
    for i in range(n):
        a = rng.randrange(accounts)
        b = (a + 1 + rng.randrange(accounts - 1)) % accounts
        nonces[a] += 1
        messages.append(
            transfer(keys[a], did_of(keys[b]), 1 + rng.randrange(100), nonces[a], f"tx-{i}")
        )
    return keys, messages


def throughput(args: argparse.Namespace, root: Path, url: str | None = None) -> None:
    rng = random.Random(7)
    keys, messages = _signed_transfers(args.transfers, args.accounts, rng)
    storage = open_storage(url or f"sqlite:///{root / 'hub.db'}")
    ledger = open_ledger(storage, root)
    blob = "BYTEA" if ledger.db.dialect == "postgresql" else "BLOB"
    ledger.currency.commit(
        [
            ledger.signed(
                {
                    "type": "open_account",
                    "did": did_of(k),
                    "kind": "citizen",
                    "idempotency_key": f"open-{i}",
                }
            )
            for i, k in enumerate(keys)
        ]
    )
    ledger.currency.commit(
        [
            ledger.signed(
                {
                    "type": "issue",
                    "to": did_of(k),
                    "amount": 10**9,
                    "reason": "bench",
                    "idempotency_key": f"fund-{i}",
                }
            )
            for i, k in enumerate(keys)
        ]
    )
    with ledger.db.write() as conn:
        conn.execute(f"CREATE TABLE bench_raw (digest {blob} PRIMARY KEY, body {blob} NOT NULL)")

    def raw_insert(rows: list) -> None:
        if ledger.db.dialect == "postgresql":
            with storage.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.executemany("INSERT INTO bench_raw (digest, body) VALUES (%s, %s)", rows)
        else:
            with storage.write() as conn:
                conn.executemany("INSERT INTO bench_raw (digest, body) VALUES (?, ?)", rows)

    def run_ledger(batch: list) -> None:
        outcomes = ledger.currency.commit(batch)
        assert all(o.status == "committed" for o in outcomes), outcomes[0]

    def run_raw(batch: list) -> None:
        rows = []
        for m in batch:
            body = signing_bytes(m)
            digest = hashlib.sha256(body).digest()
            sig = base64.urlsafe_b64decode(m["signature"] + "==")
            Ed25519PublicKey.from_public_bytes(public_key_of(m["payer"])).verify(sig, body)
            rows.append((digest, body))
        raw_insert(rows)

    batches = [messages[i : i + args.batch] for i in range(0, len(messages), args.batch)]
    took = {"ledger": 0.0, "raw": 0.0}
    for batch in batches:  # alternate, so both see the same machine state
        t = time.perf_counter()
        run_raw(batch)
        took["raw"] += time.perf_counter() - t
        t = time.perf_counter()
        run_ledger(batch)
        took["ledger"] += time.perf_counter() - t
    n = len(messages)
    tps = {k: n / v for k, v in took.items()}
    head = ledger.log.latest()
    where = "PostgreSQL" if url else "SQLite file, synchronous=FULL"
    print(
        f"throughput: {n} signed transfers, batches of {args.batch}, "
        f"{args.accounts} accounts ({where})"
    )
    print(f"  raw (SHA-256 + Ed25519 verify + insert): {tps['raw']:10.0f} transfers/s")
    print(f"  ledger (checks + state + log + checkpoint): {tps['ledger']:7.0f} transfers/s")
    print(f"  ratio ledger/raw: {tps['ledger'] / tps['raw']:.2f} (target >= 0.3)")
    print(f"  log: {head.size} entries, {len(ledger.log.checkpoint_sizes())} checkpoints")
    print("  context: Hyperledger Besu ~520-1,200 tps; Hyperledger Fabric ~3,500 tps (published)")
    t = time.perf_counter()
    ledger.audit()
    print(f"  audit (recompute tree, replay all balances): {time.perf_counter() - t:.1f} s")
    storage.close()


class SyntheticLog:
    """Leaves ``leaf_hash(i)`` for ``i < n`` without keeping them: only the roots of full
    256-leaf chunks are stored (in a :class:`MerkleTree`, which then holds every perfect subtree
    of 256 leaves or more); smaller subtrees are recomputed on demand. 10^7 entries fit in a few
    MB, and proofs come from the same RFC 9162 recursion as every other tree."""

    CHUNK_LEVEL = 8

    def __init__(self, n: int) -> None:
        self.n = n
        self.chunks = MerkleTree()
        self._memo: dict[tuple[int, int], bytes] = {}
        for c in range(n >> self.CHUNK_LEVEL):
            self.chunks.append_leaf_hash(self._compute(self.CHUNK_LEVEL, c))

    @staticmethod
    def leaf(i: int) -> bytes:
        return leaf_hash(i.to_bytes(8, "big"))

    def _compute(self, level: int, index: int) -> bytes:
        row = [self.leaf(i) for i in range(index << level, (index + 1) << level)]
        while len(row) > 1:
            row = [node_hash(row[k], row[k + 1]) for k in range(0, len(row), 2)]
        return row[0]

    def perfect_hash(self, level: int, index: int) -> bytes:
        if level >= self.CHUNK_LEVEL:
            return self.chunks.perfect_hash(level - self.CHUNK_LEVEL, index)
        key = (level, index)
        if key not in self._memo:
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[key] = self._compute(level, index)
        return self._memo[key]


def proofs(args: argparse.Namespace, root: Path) -> None:
    rng = random.Random(11)
    check = MerkleTree(i.to_bytes(8, "big") for i in range(5_000))
    assert tree_head(SyntheticLog(5_000), 5_000) == check.root()  # same tree as the real one
    print("proofs (RFC 9162 over a synthetic log; median verification time):")
    print(
        f"  {'entries':>10} {'incl.hashes':>11} {'bytes':>6} {'verify µs':>10} "
        f"{'cons.hashes':>11} {'verify µs':>10} {'log2 n':>7} {'build s':>8}"
    )
    for exp in range(3, args.max_exp + 1):
        n = 10**exp
        t = time.perf_counter()
        log = SyntheticLog(n)
        root_hash = tree_head(log, n)
        built = time.perf_counter() - t
        sizes, times = [], []
        for _ in range(200):
            i = rng.randrange(n)
            path = inclusion_path(log, i, n)
            leaf = log.leaf(i)
            t = time.perf_counter()
            verify_inclusion(leaf, i, n, path, root_hash)
            times.append(time.perf_counter() - t)
            sizes.append(len(path))
        csizes, ctimes = [], []
        for _ in range(50):
            m = rng.randrange(1, n)
            path = consistency_path(log, m, n)
            old = tree_head(log, m)
            t = time.perf_counter()
            verify_consistency(m, n, old, root_hash, path)
            ctimes.append(time.perf_counter() - t)
            csizes.append(len(path))
        print(
            f"  {n:>10} {max(sizes):>11} {32 * max(sizes):>6} "
            f"{statistics.median(times) * 1e6:>10.1f} {max(csizes):>11} "
            f"{statistics.median(ctimes) * 1e6:>10.1f} {math.log2(n):>7.1f} {built:>8.1f}"
        )
    print("proofs (persistent log, SQLite): proof generation time")
    storage = open_storage(f"sqlite:///{root / 'proofs.db'}")
    ledger = open_ledger(storage, root / "proofs")
    for exp in range(3, args.db_max_exp + 1):
        n = 10**exp
        size = ledger.log.latest().size
        while size < n:
            step = min(10_000, n - size)
            ledger.log.append_batch([("bench", (size + j).to_bytes(8, "big")) for j in range(step)])
            size += step
        times = []
        for _ in range(200):
            i = rng.randrange(n)
            t = time.perf_counter()
            ledger.log.inclusion_proof(i, n)
            times.append(time.perf_counter() - t)
        print(
            f"  {n:>10} entries: inclusion proof from the database "
            f"{statistics.median(times) * 1e6:8.0f} µs (median)"
        )
    storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--max-exp", type=int, default=7)
    parser.add_argument("--db-max-exp", type=int, default=5)
    parser.add_argument(
        "--postgres", action="store_true", help="Also run the throughput on PostgreSQL"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        throughput(args, Path(tmp))
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from postgres import cluster_url, drop_database, fresh_database

            admin = cluster_url()
            url = fresh_database(admin)
            try:
                throughput(args, Path(tmp) / "pg", url)
            finally:
                drop_database(admin, url)
        proofs(args, Path(tmp))


if __name__ == "__main__":
    main()
