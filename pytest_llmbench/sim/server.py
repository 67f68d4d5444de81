"""Run the simulator: in-process on a background thread (``SimServer``) or in the foreground.

The listening socket is bound before uvicorn starts, so port 0 gives a free
port that is known at once and never raced for. Requests are stamped with
the time their bytes arrived (a thin subclass of uvicorn's HTTP protocol),
so latency is scheduled from arrival rather than from when the app first
ran: under a burst of requests the parse queue does not leak into TTFT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_llmbench.sim.config import SimConfig, load_config
from pytest_llmbench.sim.respond import ARRIVAL_KEY, TRANSPORT_KEY, DropLogFilter
from pytest_llmbench.sim.state import SimState

HOST = "127.0.0.1"


def bind_socket(host: str = HOST, port: int = 0) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one."""
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it a response written in two parts waits ~40 ms for a delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def stamping_protocol(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """``base`` (uvicorn's HTTP protocol) that records each request's arrival time.

    It also hands the app the connection's transport, so a simulated drop can
    close the connection without uvicorn answering 500 or logging a traceback.
    """

    class ArrivalStamping(base):  # type: ignore[valid-type, misc]
        def data_received(self, data: bytes) -> None:
            now = time.monotonic()
            before = getattr(self, "scope", None)
            super().data_received(data)
            scope = getattr(self, "scope", None)
            if scope is not before and isinstance(scope, dict) and ARRIVAL_KEY not in scope:
                scope[ARRIVAL_KEY] = now
                scope[TRANSPORT_KEY] = getattr(self, "transport", None)

    ArrivalStamping.__name__ = f"ArrivalStamping{base.__name__}"
    return ArrivalStamping


HTTP_PROTOCOLS = {
    "auto": "uvicorn.protocols.http.auto:AutoHTTPProtocol",
    "h11": "uvicorn.protocols.http.h11_impl:H11Protocol",
    "httptools": "uvicorn.protocols.http.httptools_impl:HttpToolsProtocol",
}


def uvicorn_config(app: Any, log_level: str = "warning", loop: str = "auto",
                   http: str = "auto") -> Any:
    """A uvicorn ``Config`` tuned for the simulator (no access log, quick shutdown).

    ``loop="auto"`` and ``http="auto"`` use uvloop and httptools when installed.
    """
    import uvicorn
    from uvicorn.importer import import_from_string

    base = import_from_string(HTTP_PROTOCOLS[http])
    logging.getLogger("uvicorn.error").addFilter(DropLogFilter())
    return uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="off", loop=loop,
        http=stamping_protocol(base), timeout_graceful_shutdown=2, timeout_keep_alive=30,
        backlog=2048,
    )


def build_state(config: SimConfig | None = None, config_path: str | Path | None = None,
                answer_key: str | Path | list[str | Path] | None = None,
                models: list[str] | None = None, seed: int | None = None) -> SimState:
    """The server state from a ready ``SimConfig`` or from file/option inputs."""
    keys = [answer_key] if isinstance(answer_key, str | Path) else list(answer_key or [])
    if config is None:
        config = load_config(config_path, models=models, answer_keys=keys, seed=seed)
    else:
        config.answer_keys.extend(Path(k) for k in keys)
        if seed is not None:
            config.seed = seed
    return SimState.from_config(config)


class SimServer:
    """The simulator on a background thread of this process.

    ``start()`` returns the base URL (``http://127.0.0.1:PORT``); OpenAI
    clients use ``base_url + "/v1"``, Anthropic ``base_url``, boto3
    ``endpoint_url=base_url``. ``stop()`` closes it; also a context manager.
    """

    def __init__(self, config: SimConfig | None = None, *, host: str = HOST, port: int = 0,
                 config_path: str | Path | None = None,
                 answer_key: str | Path | list[str | Path] | None = None,
                 models: list[str] | None = None, seed: int | None = None,
                 log_level: str = "warning") -> None:
        self.state = build_state(config, config_path, answer_key, models, seed)
        self.host = host
        self.port = port
        self.log_level = log_level
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def metrics(self) -> dict[str, Any]:
        """A snapshot of ``GET /metrics`` without an HTTP round trip."""
        return self.state.metrics.as_json()

    def start(self, timeout: float = 10.0) -> str:
        import uvicorn

        from pytest_llmbench.sim.app import create_app

        if self._thread is not None:
            return self.base_url
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn_config(create_app(state=self.state), self.log_level)
        self._server = uvicorn.Server(config)

        def run() -> None:
            try:
                asyncio.run(self._server.serve(sockets=[sock]))
            except BaseException as exc:  # reported by start()
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"llmbench-sim-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"llmbench sim failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"llmbench sim did not start within {timeout:g}s")
            time.sleep(0.005)
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(state: SimState, host: str = HOST, port: int = 0,
                  ready_file: str | Path | None = None, parent_pid: int | None = None,
                  log_level: str = "warning", announce: bool = True, loop: str = "auto",
                  http: str = "auto") -> None:
    """Run in the foreground until SIGINT/SIGTERM (or until ``parent_pid`` dies).

    Must run on the main thread (it installs signal handlers).
    """
    import uvicorn

    from pytest_llmbench.sim.app import create_app

    class QuietServer(uvicorn.Server):
        """Signals are handled below, so uvicorn must not re-raise them on exit."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    sock = bind_socket(host, port)
    port = sock.getsockname()[1]
    server = QuietServer(uvicorn_config(create_app(state=state), log_level, loop, http))
    base_url = f"http://{host}:{port}"

    def on_signal(signum: int, frame: Any) -> None:
        if server.should_exit and signum == signal.SIGINT:
            server.force_exit = True
        server.should_exit = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    async def main() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.002)
        if server.started:
            if announce:
                print(f"llmbench sim listening on {base_url}", flush=True)
            if ready_file is not None:
                _write_atomic(Path(ready_file), f"{port}\n")
        while not task.done():
            if parent_pid is not None and (os.getppid() != parent_pid or not _alive(parent_pid)):
                server.should_exit = True
            await asyncio.wait([task], timeout=0.5)
        await task

    try:
        loop_factory = server.config.get_loop_factory()
        if loop_factory is None:
            asyncio.run(main())
        else:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(main())
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
