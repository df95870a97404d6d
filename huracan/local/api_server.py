"""The outcome API on loopback: the same Chalice app SAM deploys, served by Chalice's local gateway.

Two ways, one interface (``with LocalApiServer(env) as api: api.url``):

- ``mode="thread"`` (default): :class:`chalice.local.LocalDevServer` in a thread of this process, bound to
  ``127.0.0.1`` on a port the OS picks. The API's context is built from the stack's environment and
  installed with :func:`huracan.api.handlers.configure`; ``clock`` (e.g. the replay's
  ``VirtualClock.now``) becomes the API clock, so signatures made in replay time are fresh.
- ``mode="subprocess"``: ``chalice local --no-autoreload`` run from ``functions/outcome_api`` with the
  environment, exactly what a developer types; the clock can only be given as ``HURACAN_API_CLOCK``.

Whatever is started is stopped by :meth:`LocalApiServer.stop` (also on an error during start).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Any, Literal

from huracan.api import handlers
from huracan.api.clock import API_CLOCK_ENV, Clock, set_api_clock
from huracan.api.settings import OutcomeApiSettings
from huracan.local.api_iam import Authorizer

__all__ = ["FUNCTION_DIR", "LOOPBACK", "LocalApiServer", "load_app"]

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "functions" / "outcome_api"
LOOPBACK = "127.0.0.1"
_MODULE_NAME = "huracan_local_outcome_api"
_active_lock = threading.Lock()
_active: LocalApiServer | None = None


def load_app(function_dir: Path = FUNCTION_DIR) -> Any:
    """Import ``functions/outcome_api/app.py`` once (as Lambda would) and return its Chalice ``app``."""
    module = sys.modules.get(_MODULE_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(_MODULE_NAME, function_dir / "app.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {function_dir / 'app.py'}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[_MODULE_NAME] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_MODULE_NAME]
            raise
    assert isinstance(module, ModuleType)
    return module.app


class LocalApiServer:
    """Serve the outcome API on ``127.0.0.1``; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(
        self,
        environment: Mapping[str, str] | None = None,
        *,
        clock: Clock | None = None,
        mode: Literal["thread", "subprocess"] = "thread",
        port: int | None = None,
        function_dir: Path = FUNCTION_DIR,
        startup_timeout_s: float = 30.0,
        scope: Callable[[], AbstractContextManager[Any]] | None = None,
        authorize: Authorizer | None = None,
    ) -> None:
        if mode == "subprocess" and clock is not None:
            raise ValueError(f"a subprocess cannot share a clock object; set {API_CLOCK_ENV} in the environment")
        self.environment = {k: str(v) for k, v in (environment or {}).items()}
        self.clock = clock
        self.mode = mode
        self.port = port
        self.function_dir = function_dir
        self.startup_timeout_s = startup_timeout_s
        #: entered around start-up and every request (thread mode): the function's role and variables
        self.scope = scope
        #: API Gateway's IAM auth (huracan.local.api_iam): 403 before the app for a refused request (thread mode)
        self.authorize = authorize
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @classmethod
    def from_stack(cls, stack: Any, **kwargs: Any) -> LocalApiServer:
        """With the environment CloudFormation resolved for ``OutcomeApiFunction`` in a LocalStack."""
        spec = stack.lambdas.get("OutcomeApiFunction")
        return cls(dict(spec.environment), **kwargs)

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> str | None:
        """The subprocess's combined output (for failure messages)."""
        return self._log.name if self._log is not None else None

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.environment}

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> LocalApiServer:
        try:
            if self.mode == "thread":
                self._start_thread()
                self._serve()
            else:
                self._start_subprocess()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_thread(self) -> None:
        with self.scope() if self.scope is not None else nullcontext():
            self._start_thread_in_scope()
        if self.authorize is not None:
            self._server.server.RequestHandlerClass = _authorizing(
                self._server.server.RequestHandlerClass, self.authorize
            )
        if self.scope is not None:
            # Each request is handled inside the handler's constructor, on a thread of its own: enter the
            # function's scope there, as Lambda runs each request with the function's role and environment.
            handler_cls = self._server.server.RequestHandlerClass
            scope = self.scope

            def scoped_handler(*args: Any, **kwargs: Any) -> Any:
                with scope():
                    return handler_cls(*args, **kwargs)

            self._server.server.RequestHandlerClass = scoped_handler

    def _start_thread_in_scope(self) -> None:
        global _active
        from chalice.config import Config
        from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer, create_local_server

        # One access-log line per request on stderr would drown a replay's output; keep them at DEBUG.
        ChaliceRequestHandler.log_message = _log_request

        with _active_lock:
            if _active is not None:
                raise RuntimeError("another in-process API server is running (the API context is per process)")
            _active = self
        settings = OutcomeApiSettings.from_env(self._env())
        handlers.configure(handlers.ApiContext.from_settings(settings))
        set_api_clock(self.clock)
        app = load_app(self.function_dir)
        config = Config.create(chalice_stage="dev", app_name=app.app_name, lambda_timeout=30, lambda_memory_size=512)
        port = self.port or 0
        if isinstance(app, LocalChalice):  # a second start: the class swap is already done
            server = LocalDevServer(app, config, LOOPBACK, port)
        else:
            server = create_local_server(app, config, LOOPBACK, port)
        self._server = server
        self.port = int(server.server.server_address[1])

    def _serve(self) -> None:
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="outcome-api", daemon=True)
        self._thread.start()

    def _start_subprocess(self) -> None:
        exe = shutil.which("chalice", path=str(Path(sys.executable).parent)) or shutil.which("chalice")
        if exe is None:
            raise RuntimeError("the chalice command is not installed")
        if self.port is None:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((LOOPBACK, 0))
                self.port = int(s.getsockname()[1])
        self._log = tempfile.NamedTemporaryFile(prefix="chalice-local-", suffix=".log", delete=False)  # noqa: SIM115
        self._process = subprocess.Popen(
            [exe, "local", "--host", LOOPBACK, "--port", str(self.port), "--no-autoreload", "--stage", "dev"],
            cwd=self.function_dir,
            env=self._env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chalice local exited with {self._process.returncode}: {self._output()}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"chalice local did not listen on {self.url} within {self.startup_timeout_s} s")

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text("utf-8", errors="replace")[-2000:]

    def stop(self) -> None:
        """Idempotent: stop the thread or process this object started and undo the process-wide settings."""
        global _active
        if self._server is not None:
            self._server.server.shutdown()
            self._server.server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with _active_lock:
            if _active is self:
                _active = None
                handlers.configure(None)
                set_api_clock(None)
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            self._process = None
        if self._log is not None:
            self._log.close()
            os.unlink(self._log.name)
            self._log = None

    def __enter__(self) -> LocalApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _authorizing(handler_cls: Any, authorize: Authorizer) -> Any:
    """Chalice's request handler behind API Gateway's IAM check: a refused request gets 403 with API
    Gateway's body (``{"message": ...}``, ``x-amzn-ErrorType``) and never reaches the app."""
    import io
    import json

    base = handler_cls.func if hasattr(handler_cls, "func") else handler_cls
    kwargs = dict(getattr(handler_cls, "keywords", {}) or {})

    class Authorizing(base):  # type: ignore[misc,valid-type]
        def _generic_handle(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length) if length > 0 else None
            refusal = authorize(self.command, self.path, dict(self.headers), body)
            if refusal is not None:
                kind = "MissingAuthenticationTokenException" if "Missing" in refusal else "AccessDeniedException"
                self._send_http_response(403, {"x-amzn-ErrorType": kind}, json.dumps({"message": refusal}))
                return
            self.rfile: Any = io.BytesIO(body or b"")
            super()._generic_handle()

        # the base class binds each verb to its own _generic_handle
        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    return functools.partial(Authorizing, **kwargs)


def _log_request(handler: Any, fmt: str, *args: Any) -> None:
    logging.getLogger(__name__).debug("api: " + fmt, *args)
