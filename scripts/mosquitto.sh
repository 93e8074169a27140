#!/usr/bin/env bash
# A private Mosquitto broker for tests and development, under var/mqtt.
#
#   scripts/mosquitto.sh         install mosquitto if missing (apt), start or reuse the broker on
#                                127.0.0.1 on a free port, print its URL (mqtt://127.0.0.1:PORT) last
#   scripts/mosquitto.sh stop    stop it (persisted sessions stay for the next start)
#   scripts/mosquitto.sh install only install mosquitto if missing (make demo uses it)
#
# Idempotent, reads no stdin. The logic lives in cityos.iot.broker (the tests, the demo and the
# benchmark use the same code in-process); no system service is started.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python3
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
case "${1:-start}" in
    install | start | stop) exec "$PY" -m cityos.iot.broker "${1:-start}" "$ROOT/var/mqtt" </dev/null ;;
    *)
        echo "usage: $0 [start|stop|install]" >&2
        exit 2
        ;;
esac
