"""Mobility services of 5-1: shielded PM sharing, on-demand shuttle (DRT), MaaS, parking."""
