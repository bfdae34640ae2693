"""The system under test as separate processes (the API under uvicorn, the worker), their
start, readiness and stop, and their memory."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from bench.report import log
from bench.servers import Section

MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Managed:
    """A process we started, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def pids(self) -> list[int]:
        try:
            parent = psutil.Process(self.process.pid)
            return [parent.pid, *(c.pid for c in parent.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the process and its children."""
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
        return total

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop in {timeout}s; killing it")
                self.process.kill()
                self.process.wait(10)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(name: str, argv: list[str], section: Section) -> Managed:
    log_path = section.data_dir / f"{name}.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, *argv],
            env=section.process_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
    return Managed(name, process, log_path)


def start_worker(section: Section) -> Managed:
    """`ecovarejo worker`: saga, projectors, effect dispatcher and dramatiq actors."""
    return start("worker", ["-m", "api.cli", "worker"], section)


def start_api(section: Section, workers: int, port: int, *, stock: bool = False) -> Managed:
    """The bench app (`bench.app`) under uvicorn; `stock` for uvicorn's own socket."""
    argv = ["-m", "bench.serve", "--port", str(port), "--workers", str(workers)]
    name = f"api-{workers}w" + ("-stock" if stock else "")
    return start(name, [*argv, "--stock"] if stock else argv, section)


def wait_healthy(api: Managed, base_url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not api.alive():
            raise RuntimeError(f"{api.name} exited:\n{api.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{api.name} not healthy after {timeout}s:\n{api.tail()}")


@dataclass
class RssSampler:
    """Peak resident memory of each role's process tree (sum) and of any one process."""

    roles: dict[str, Managed]
    interval: float = 0.2
    peak_total: dict[str, float] = field(default_factory=dict)
    peak_process: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        for role, managed in self.roles.items():
            sizes = []
            for pid in managed.pids():
                with contextlib.suppress(psutil.Error):
                    sizes.append(psutil.Process(pid).memory_info().rss / MB)
            if sizes:
                self.peak_total[role] = max(self.peak_total.get(role, 0.0), sum(sizes))
                self.peak_process[role] = max(self.peak_process.get(role, 0.0), max(sizes))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    @contextlib.contextmanager
    def sampling(self) -> Iterator[RssSampler]:
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._sample()


@contextlib.contextmanager
def bare_app(section: Section) -> Iterator[str]:
    """The bare FastAPI route (`bench/bare.py`) under the same uvicorn as the API: the
    baseline a read's figures are a ratio of. Yields its base URL."""
    port = free_port()
    argv = ["-m", "bench.serve", "--port", str(port), "--app", "bench.bare:create_bare_app"]
    bare = start("bare", argv, section)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(bare, base)
        yield base
    finally:
        bare.stop()
