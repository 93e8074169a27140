"""Core: settings, logging, errors and small shared helpers used by every layer."""
