"""Citizen proposals ("trouble shooter"), support signatures with answer thresholds, comments
(docs/governance.md)."""
