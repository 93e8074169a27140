"""End-to-end verifiable M-voting: exponential ElGamal over ristretto255 (libsodium), ballots with
zero-knowledge proofs of well-formedness, a homomorphic tally, threshold decryption by trustees
with proofs, and an offline verifier of the published election record (docs/voting.md)."""
