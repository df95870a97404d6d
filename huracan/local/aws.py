"""The embedded AWS: a moto server on 127.0.0.1 that every handler reaches only through the environment.

Nothing in ``huracan`` knows it runs locally: boto3 and pynamodb find the server through ``AWS_ENDPOINT_URL``
exactly as they would find a VPC endpoint. Step Functions runs real definitions on moto's interpreter
(``execute_state_machine``), which calls back into the server on ``MOTO_PORT``; Lambda uses moto's simple
backend (no Docker), whose ``invoke`` the local stack routes to the real handlers in-process.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from moto.core import models as _moto_models
from moto.server import ThreadedMotoServer

from huracan.local import moto_speedups

__all__ = ["LOCAL_REGION", "EmbeddedAws", "embedded_aws", "free_port"]

LOCAL_REGION = "eu-west-2"
_ENV_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "MOTO_PORT",
    "MOTO_ALLOW_NONEXISTENT_REGION",
)


def free_port() -> int:
    """A free TCP port on loopback (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedAws:
    """A started moto server plus the environment that points boto3/pynamodb at it; restores on stop."""

    def __init__(self, region: str = LOCAL_REGION, port: int | None = None) -> None:
        self.region = region
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None
        self._saved: dict[str, str | None] = {}
        self._moto_config: dict[str, Any] = {}
        self._auth_before: str | None = None

    def start(self) -> EmbeddedAws:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns the demo
        moto_speedups.install()
        self._moto_config = copy.deepcopy(dict(_moto_config()))
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self._saved = {k: os.environ.get(k) for k in _ENV_KEYS}
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "MOTO_PORT": str(self.port),
            }
        )
        self.configure({"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        return self

    def configure(self, config: dict[str, object]) -> None:
        """Set moto's runtime options through its own API, as a separate process would."""
        req = urllib.request.Request(
            f"{self.endpoint}/moto-api/config",
            data=json.dumps(config).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def enforce_iam(self, on: bool = True) -> None:
        """Turn moto's IAM checks on for every request from now on (``INITIAL_NO_AUTH_ACTION_COUNT`` 0), or back.

        Through moto's own ``/moto-api/reset-auth``; the setting is process-wide, so :meth:`stop` puts back
        what was there before (other servers of the process, e.g. a test session's, are not left enforcing).
        """
        value = "0" if on else (self._auth_before or "inf")
        req = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=value.encode(),
            headers={"Content-Type": "text/plain"},  # a form type would leave Flask's request.data empty
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            previous = str(json.loads(resp.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])
        if on and self._auth_before is None:
            self._auth_before = previous
        if not on:
            self._auth_before = None

    @property
    def enforcing(self) -> bool:
        return self._auth_before is not None

    def reset(self) -> None:
        """Drop every resource (between tests), keeping the server up."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def stop(self) -> None:
        if self._server is not None:
            if self._auth_before is not None:
                self.enforce_iam(False)
            self._server.stop()
            self._server = None
            moto_speedups.uninstall()
            # moto's runtime options are process-wide: leave them as they were for in-process mocks
            config = _moto_config()
            config.clear()
            config.update(self._moto_config)
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved = {}

    def __enter__(self) -> EmbeddedAws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextmanager
def embedded_aws(region: str = LOCAL_REGION) -> Iterator[EmbeddedAws]:
    """``with embedded_aws() as aws:`` — the server stops and the environment is restored on any exit."""
    aws = EmbeddedAws(region)
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()


def _moto_config() -> dict[str, Any]:
    """moto's process-wide runtime options (``lambda.use_docker``, ``stepfunctions.execute_state_machine``)."""
    config: dict[str, Any] = getattr(_moto_models, "default_user_config")  # noqa: B009 - not re-exported
    return config
