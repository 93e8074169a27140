"""Peer-to-peer parking: owners publish slots with time windows, drivers search and book."""
