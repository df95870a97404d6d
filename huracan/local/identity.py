"""Who is calling: each function, the state machine, the training task and the API as their own role.

On AWS every function runs in its own sandbox with the credentials of its execution role and the environment
variables the template gives it. Locally they share one process, so this module gives each of them its own
*scope*: a :class:`~contextvars.ContextVar` set for the length of one invocation (or one Step Functions
execution, one training night, one API request) that decides

- which credentials sign every AWS request made in that scope: botocore's
  ``RequestSigner.get_auth_instance`` receives them as ``request_credentials`` (botocore's own per-request
  override), so the cached clients every function shares sign with the caller's role, at no extra client
  cost; outside any scope the local platform (replay driver, poller, reports) signs as an administrator;
- what ``os.environ`` shows: inside a scope, a mapping of that scope's own variables (the template's, the
  runtime's ``AWS_*`` and a few process basics such as ``PATH``); writes stay inside the scope. Outside a
  scope it is the process environment, unchanged.

A Step Functions execution runs in moto's worker thread; that thread enters the scope of the execution's
role (the state machine's ``RoleArn``), found from ``aws_execution_details.role_arn``.

Only one layer is installed at a time (it patches process-wide hooks), and :meth:`IdentityLayer.uninstall`
restores every one of them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from botocore.credentials import Credentials
from botocore.signers import RequestSigner

__all__ = ["PASSTHROUGH_ENV", "Identity", "IdentityLayer", "Scope", "current_scope"]

#: Process basics every sandbox has (Lambda sets PATH, LANG, TZ ...; HOME and TMPDIR keep libraries that
#: cache files, e.g. matplotlib, off the working directory), and the switches tests use to silence X-Ray.
PASSTHROUGH_ENV = (
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "TZ",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "MPLCONFIGDIR",
    "POWERTOOLS_TRACE_DISABLED",
    "AWS_XRAY_SDK_ENABLED",
    "AWS_XRAY_CONTEXT_MISSING",
)


@dataclass(frozen=True)
class Identity:
    """One principal: what it is (a logical id), its role ARN and the credentials AssumeRole gave it."""

    name: str
    role_arn: str | None
    credentials: Credentials

    def variables(self) -> dict[str, str]:
        """The credential variables its runtime exports (Lambda and ECS both give the role's session)."""
        frozen = self.credentials.get_frozen_credentials()
        out = {"AWS_ACCESS_KEY_ID": str(frozen.access_key), "AWS_SECRET_ACCESS_KEY": str(frozen.secret_key)}
        if frozen.token:
            out["AWS_SESSION_TOKEN"] = frozen.token
        return out


@dataclass
class Scope:
    identity: Identity
    #: the variables the scope sees; None = the process environment (the state machine has none of its own)
    env: dict[str, str] | None = None
    calls: dict[str, int] = field(default_factory=dict)


_CURRENT: ContextVar[Scope | None] = ContextVar("huracan_local_scope", default=None)


def current_scope() -> Scope | None:
    return _CURRENT.get()


class _ScopedEnviron(MutableMapping[str, str]):
    """``os.environ`` while the layer is installed: the current scope's variables, else the process's."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real

    def _target(self) -> MutableMapping[str, str]:
        scope = _CURRENT.get()
        if scope is None or scope.env is None:
            return self.real
        return scope.env

    def __getitem__(self, key: str) -> str:
        return self._target()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._target()))

    def __len__(self) -> int:
        return len(self._target())

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def get(self, key: str, default: Any = None) -> Any:
        return self._target().get(key, default)

    def copy(self) -> dict[str, str]:
        return dict(self._target())

    def __repr__(self) -> str:
        return f"ScopedEnviron({dict(self._target())!r})"


class IdentityLayer:
    """Installs the scoped signer and environment; ``scope(identity, env)`` enters one principal."""

    _active: IdentityLayer | None = None
    _lock = threading.Lock()

    def __init__(self, platform: Identity) -> None:
        self.platform = platform
        self.by_role_arn: dict[str, Identity] = {}
        self._saved: dict[str, Any] = {}

    # -- process-wide hooks ---------------------------------------------------------------------------
    def install(self) -> None:
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        with IdentityLayer._lock:
            if IdentityLayer._active is not None:
                raise RuntimeError("another local identity layer is installed (one local stack per process)")
            IdentityLayer._active = self
        layer = self
        original_auth: Any = RequestSigner.get_auth_instance
        original_logic: Any = ExecutionWorker._execution_logic
        self._saved = {"auth": original_auth, "logic": original_logic, "environ": os.environ}

        def get_auth_instance(
            signer: RequestSigner,
            signing_name: str,
            region_name: str,
            signature_version: str | None = None,
            request_credentials: Any = None,
            **kwargs: Any,
        ) -> Any:
            if request_credentials is None:
                scope = _CURRENT.get()
                request_credentials = (scope.identity if scope is not None else layer.platform).credentials
            return original_auth(signer, signing_name, region_name, signature_version, request_credentials, **kwargs)

        def execution_logic(worker: Any) -> None:
            role_arn = worker._evaluation_details.aws_execution_details.role_arn
            identity = layer.by_role_arn.get(role_arn)
            if identity is None:  # no stack role: a test's ad-hoc state machine runs as the platform
                original_logic(worker)
                return
            with layer.scope(identity, None):
                original_logic(worker)

        RequestSigner.get_auth_instance = get_auth_instance  # type: ignore[method-assign,assignment]
        ExecutionWorker._execution_logic = execution_logic  # type: ignore[method-assign]
        os.environ = _ScopedEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 - a view, on purpose

    def uninstall(self) -> None:
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        if not self._saved:
            return
        RequestSigner.get_auth_instance = self._saved["auth"]  # type: ignore[method-assign]
        ExecutionWorker._execution_logic = self._saved["logic"]  # type: ignore[method-assign]
        os.environ = self._saved["environ"]  # noqa: B003 - the original object back
        self._saved = {}
        with IdentityLayer._lock:
            if IdentityLayer._active is self:
                IdentityLayer._active = None

    # -- scopes ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self, identity: Identity, env: Mapping[str, str] | None) -> Iterator[Scope]:
        """Run the block as ``identity`` with exactly ``env`` as its environment (None: the process's)."""
        scope = Scope(identity, dict(env) if env is not None else None)
        token = _CURRENT.set(scope)
        try:
            yield scope
        finally:
            _CURRENT.reset(token)

    def process_basics(self) -> dict[str, str]:
        """The passthrough variables of the real process environment."""
        real: Mapping[str, str] = self._saved.get("environ", os.environ)
        return {k: real[k] for k in PASSTHROUGH_ENV if k in real}
