"""The city services: apps on the hub that read and write NGSI-LD entities like any client."""
