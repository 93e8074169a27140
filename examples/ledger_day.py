"""A day on the Sejong ledger, with the personas of the 5-1 zone.

Run: ``.venv/bin/python examples/ledger_day.py [DATA_DIR]`` (default: a temporary directory).
Prints each step and ends by verifying the exported log offline, as an auditor would.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.hub.backends import open_storage
from cityos.ledger.credentials import verify_credential
from cityos.ledger.did import did_of
from cityos.ledger.messages import transfer
from cityos.ledger.money import format_amount, parse_amount
from cityos.ledger.service import open_ledger
from cityos.ledger.verify import verify_document


def main(data_dir: Path) -> None:
    storage = open_storage(f"sqlite:///{data_dir / 'hub.db'}")
    ledger = open_ledger(storage, data_dir)
    keys = {
        name: Ed25519PrivateKey.generate()
        for name in ("librarian", "homemaker", "pupil", "shuttle", "utility")
    }
    did = {name: did_of(key) for name, key in keys.items()}
    for name in ("librarian", "homemaker", "pupil"):
        ledger.open_account(did[name])
    ledger.open_account(did["shuttle"], "merchant", service_class="public_good")
    ledger.open_account(did["utility"], "public_body", service_class="public_good")

    # The retired librarian (75) proves she is over 65 without revealing her birth date.
    credential = ledger.credentials.issue("age_over_65", did["librarian"])
    seen = verify_credential(credential, ledger.issuer_did, ledger.credentials.status_list())
    print(f"librarian's credential: {seen.vc_type} {seen.claims}")

    ledger.basic_income("2026-12", parse_amount("50"))
    ledger.issue(did["homemaker"], parse_amount("120"), "childcare allowance", "welfare-0001")
    ledger.reward(did["pupil"], "volunteer", 2, "2026-12", "playground-cleanup-0007")

    fare = transfer(
        keys["librarian"], did["shuttle"], parse_amount("1.50"), 1, "shuttle-trip-1", purpose="fare"
    )
    ledger.currency.commit_one(fare)
    ledger.currency.commit_one(fare)  # the app retried: no double charge
    bill = transfer(
        keys["homemaker"],
        did["utility"],
        parse_amount("38.20"),
        1,
        "bill-2026-12",
        purpose="utility",
    )
    ledger.currency.commit_one(bill)

    minutes = b"Citizen committee 2026-12-07: shuttle stop moved to the community centre."
    notarised = ledger.notarise(hashlib.sha256(minutes).hexdigest(), "committee minutes")
    receipt = ledger.receipt(notarised.seq).to_json()

    for name in ("librarian", "homemaker", "pupil", "shuttle", "utility"):
        print(f"{name:>9}: {format_amount(ledger.currency.balance(did[name])):>8} SJC")
    print(verify_document(receipt, ledger.log_key, document=minutes).detail)
    print(verify_document(ledger.export().to_json(), ledger.log_key).detail)
    print(ledger.audit())
    storage.close()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
