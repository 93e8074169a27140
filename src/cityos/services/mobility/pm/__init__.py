"""Shielded PM sharing: stations and free-floating pods, demand forecast, rebalancing (OR-Tools
VRP), fares with discounts, and a GBFS 2.3 feed."""
