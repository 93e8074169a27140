"""did:key for Ed25519: published vectors, round trips, and refused inputs."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from cityos.ledger.did import (
    InvalidDid,
    b58decode,
    b58encode,
    did_document,
    did_from_public_key,
    did_of,
    public_key_of,
    verify_signature,
)

# A published did:key with its key in base58 (Ed25519VerificationKey2018 publicKeyBase58).
VECTOR_DID = "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th"
VECTOR_KEY_B58 = "8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K"


def naive_b58(data: bytes) -> str:
    """Base58 by repeated long division on the digit list (a second, independent method)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    digits = [0]
    for byte in data:
        carry = byte
        for i in range(len(digits)):
            carry += digits[i] << 8
            digits[i], carry = carry % 58, carry // 58
        while carry:
            digits.append(carry % 58)
            carry //= 58
    text = "".join(alphabet[d] for d in reversed(digits)).lstrip("1")
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def test_published_vector():
    key = b58decode(VECTOR_KEY_B58)
    assert len(key) == 32
    assert did_from_public_key(key) == VECTOR_DID
    assert public_key_of(VECTOR_DID) == key
    assert did_document(VECTOR_DID)["verificationMethod"][0]["publicKeyMultibase"].startswith(
        "z6Mk"
    )


@given(st.binary(max_size=64))
def test_base58_matches_a_naive_encoder_and_round_trips(data):
    assert b58encode(data) == naive_b58(data)
    assert b58decode(b58encode(data)) == data


def test_signatures_verify_against_the_did():
    key = Ed25519PrivateKey.generate()
    did = did_of(key)
    assert did.startswith("did:key:z6Mk")
    assert verify_signature(did, b"pay 5", key.sign(b"pay 5"))
    assert not verify_signature(did, b"pay 50", key.sign(b"pay 5"))
    assert not verify_signature(did_of(Ed25519PrivateKey.generate()), b"pay 5", key.sign(b"pay 5"))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "did:web:sejong.example",
        "did:key:zTjsVPtY",  # valid base58 but too short for an Ed25519 key
        VECTOR_DID + "a",
        VECTOR_DID.replace("z6Mk", "z6LS"),  # X25519 (0xec01), not a signing key
        VECTOR_DID.replace("j", "0"),  # 0 is not in the base58 alphabet
        VECTOR_DID + "#key-1",
        "did:key:" + "z" * 200,
        "did:key:u" + VECTOR_DID[9:],  # another multibase
        None,
        42,
    ],
)
def test_malformed_dids_are_refused(bad):
    with pytest.raises(InvalidDid):
        public_key_of(bad)
