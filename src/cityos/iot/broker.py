"""A private Mosquitto broker on loopback, for tests, the demo and the benchmark.

Mosquitto comes from Debian packages: :func:`mosquitto_binary` installs ``mosquitto`` with
``apt-get`` when it is missing (as root, or with password-less ``sudo``). :class:`MosquittoBroker`
writes a configuration into a directory of its own (listener on ``127.0.0.1`` on a free port,
persistence on, generous queues for persistent sessions) and runs ``mosquitto -c`` as a child
process: no system service is touched.

``python -m cityos.iot.broker install`` only installs it; ``... start DIR`` runs one in the
background (its pid and port kept in
``DIR``) and prints its URL; ``python -m cityos.iot.broker stop DIR`` stops it
(``scripts/mosquitto.sh`` wraps both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cityos.iot.errors import BrokerUnavailable

#: Where Debian installs the broker (``/usr/sbin`` is not on every user's PATH).
CANDIDATES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
START_TIMEOUT_S = 10.0


def find_mosquitto() -> str | None:
    """The path of the ``mosquitto`` binary, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def mosquitto_binary(install: bool = True) -> str:
    """The ``mosquitto`` binary, installed from Debian packages first if missing.

    Raises
    ------
    BrokerUnavailable
        If it is missing and cannot be installed (not root and no password-less sudo, no apt).
    """
    found = find_mosquitto()
    if found or not install:
        if found:
            return found
        raise BrokerUnavailable("mosquitto is not installed")
    if shutil.which("apt-get") is None:
        raise BrokerUnavailable("mosquitto is not installed and apt-get is not available")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise BrokerUnavailable("mosquitto is not installed; installing it needs root")
        prefix = ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=300", "-q"]
    for args in (
        ["apt-get", *lock, "update"],
        ["apt-get", *lock, "install", "-y", "--no-install-recommends", "mosquitto"],
    ):
        done = subprocess.run(
            prefix + args,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout)[-500:]
            raise BrokerUnavailable(f"installing mosquitto failed: {' '.join(args)}: {tail}")
    found = find_mosquitto()
    if not found:
        raise BrokerUnavailable("mosquitto was installed but its binary was not found")
    return found


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host``:``port``."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def config_text(port: int, directory: Path) -> str:
    """The broker configuration: loopback only, persistent sessions survive a broker restart.

    ``max_queued_messages`` bounds what the broker keeps for a disconnected persistent session
    (an agent that is down): 0 would mean unlimited; one million messages of ~200 bytes fit in
    memory comfortably.
    """
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence true",
        f"persistence_location {directory}/",
        "autosave_interval 5",
        "max_queued_messages 1000000",
        "max_inflight_messages 1000",
        "max_packet_size 1048576",
        "persistent_client_expiration 1d",
        f"log_dest file {directory}/mosquitto.log",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages false",
    ]
    if os.geteuid() == 0:
        lines.append("user root")  # do not drop to the `mosquitto` user: it cannot write here
    return "\n".join(lines) + "\n"


class MosquittoBroker:
    """One Mosquitto process on ``127.0.0.1``, configured and kept under ``directory``.

    Use as a context manager or call :meth:`start` / :meth:`stop`. :meth:`restart` keeps the
    port and the persisted sessions.
    """

    def __init__(self, directory: Path | str, port: int | None = None) -> None:
        self.directory = Path(directory).resolve()
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    def write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config_text(self.port, self.directory))
        return self.config_path

    def start(self, install: bool = True, tied: bool = True) -> MosquittoBroker:
        """Start the broker and wait until it accepts connections.

        With ``tied`` (Linux) the broker gets SIGTERM when the thread that started it ends
        (``PR_SET_PDEATHSIG``): a process killed by a signal leaves no broker behind. Start it
        from a thread that lives as long as the broker should (the main thread).

        Raises
        ------
        BrokerUnavailable
            If mosquitto is missing and cannot be installed, or does not come up in time.
        """
        binary = mosquitto_binary(install=install)
        self.write_config()
        log = open(self.directory / "stderr.log", "ab")  # noqa: SIM115 (owned by the child)
        try:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent if tied else None,
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if port_open(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        detail = self._log_tail()
        raise BrokerUnavailable(f"mosquitto did not start on port {self.port}: {detail}")

    def _log_tail(self) -> str:
        text = ""
        for name in ("stderr.log", "mosquitto.log"):
            path = self.directory / name
            if path.exists():
                text += path.read_text(errors="replace")[-400:]
        return text.strip() or "no log output"

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 5 s); it saves its sessions on SIGTERM."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the persisted sessions."""
        self.stop()
        self.start(install=False)

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before exec: ask the kernel for SIGTERM when the parent ends."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the broker must be stopped explicitly


# -- background broker for scripts/mosquitto.sh ----------------------------------------------------
def start_background(directory: Path) -> str:
    """Start (or reuse) a background broker kept in ``directory``; return its URL."""
    directory = directory.resolve()
    pid_file, port_file = directory / "mosquitto.pid", directory / "port"
    if pid_file.exists() and port_file.exists():
        port = int(port_file.read_text())
        if _alive(int(pid_file.read_text())) and port_open(port):
            return f"mqtt://127.0.0.1:{port}"
    old = int(port_file.read_text()) if port_file.exists() else None
    broker = MosquittoBroker(directory, old if old and not port_open(old) else None)
    broker.start(tied=False)  # outlives this command
    assert broker.process is not None
    pid_file.write_text(str(broker.process.pid))
    port_file.write_text(str(broker.port))
    broker.process = None  # leave it running
    return broker.url


def stop_background(directory: Path) -> bool:
    """Stop the background broker kept in ``directory``; False if none was running."""
    pid_file = directory.resolve() / "mosquitto.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    if not _alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def main(argv: list[str]) -> int:
    usage = "usage: python -m cityos.iot.broker install|start|stop [DIR]   (DIR: var/mqtt)"
    if not argv or argv[0] not in ("install", "start", "stop"):
        print(usage, file=sys.stderr)
        return 2
    if argv[0] == "install":
        try:
            print(mosquitto_binary())
        except BrokerUnavailable as exc:
            print(f"mosquitto: {exc.detail}", file=sys.stderr)
            return 1
        return 0
    directory = Path(argv[1] if len(argv) > 1 else "var/mqtt")
    if argv[0] == "stop":
        stopped = stop_background(directory)
        print("mosquitto: stopped" if stopped else "mosquitto: not running", file=sys.stderr)
        return 0
    try:
        print(start_background(directory))
    except BrokerUnavailable as exc:
        print(f"mosquitto: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
