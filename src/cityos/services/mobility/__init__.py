"""Mobility services of the city."""
