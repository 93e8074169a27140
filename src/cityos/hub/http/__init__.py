"""HTTP adapters of the hub: NGSI-LD routers over :class:`cityos.hub.broker.Hub`."""
