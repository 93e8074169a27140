"""The temporal API of the hub (ETSI GS CIM 009 §5.6.11-§5.6.16, §5.7.3-§5.7.4, §6.18-§6.22).

* :mod:`~cityos.hub.temporal.recording` records every attribute change into the history, inside the
  entity's write transaction (a ``hub_before_commit`` plugin);
* :mod:`~cityos.hub.temporal.store` is the protocol a backend implements to keep that history
  (:mod:`cityos.hub.storage.sqlite_temporal` for SQLite);
* :mod:`~cityos.hub.temporal.service` is the Python API (queries, aggregations, provision, purge),
  and :mod:`~cityos.hub.temporal.http` its ``/ngsi-ld/v1/temporal`` router.
"""
