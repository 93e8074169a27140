"""Structured logging: JSON lines with extra fields, and an access record per request."""

from __future__ import annotations

import json
import logging

from cityos.core.logging import JsonFormatter


def test_json_formatter_puts_extras_at_top_level():
    record = logging.makeLogRecord(
        {
            "name": "cityos.test",
            "levelno": 20,
            "levelname": "INFO",
            "msg": "hello %s",
            "args": ("x",),
        }
    )
    record.tenant = "sejong"
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "hello x" and line["tenant"] == "sejong" and line["level"] == "info"


def test_every_request_is_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="cityos.access"):
        client.get("/health", headers={"NGSILD-Tenant": "t1"})
        client.get("/ngsi-ld/v1/entities/urn:x:1")
    records = [r for r in caplog.records if r.name == "cityos.access"]
    assert [(r.path, r.status) for r in records] == [
        ("/health", 200),
        ("/ngsi-ld/v1/entities/urn:x:1", 404),
    ]
    assert records[0].tenant == "t1" and records[0].duration_ms >= 0
