"""Governance services: participation, deliberation and verifiable voting (docs/voting.md)."""
