"""NGSI-LD subscriptions and reliable notifications (ETSI GS CIM 009 §5.8, §5.11, §6.10-§6.11).

- :mod:`.model` and :mod:`.params`: validating a subscription and compiling it;
- :mod:`.store`: the storage protocol (SQLite: :mod:`cityos.hub.storage.sqlite_subscriptions`);
- :mod:`.matching`: which subscriptions a change notifies;
- :mod:`.outbox`: the ``hub_before_commit`` plugin queueing notifications in the write transaction;
- :mod:`.notification`: the Notification payload and headers;
- :mod:`.sender`: background delivery with retries, dead letters, throttling and periodic
  notifications;
- :mod:`.sse`: the Server-Sent Events fan-out;
- :mod:`.service`: the Python API (``subscriptions_of(hub)``); :mod:`.http`: the HTTP router.
"""
