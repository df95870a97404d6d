"""Lambda functions of the template, run in-process: what Lambda's runtime does, minus the container.

Each function's handler is imported from ``functions/<dir>/app.py`` as Lambda would import it, with the
environment variables CloudFormation resolved for it. moto's simple Lambda backend is patched so that an
``Invoke`` — from Step Functions' interpreter or from any client — reaches the real handler; a handler
exception becomes a function error (``X-Amz-Function-Error: Unhandled`` with ``errorType``), which is what
a state machine's ``Retry``/``Catch`` match on.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from huracan.local.identity import Identity, IdentityLayer

__all__ = ["FunctionSpec", "LocalLambdas"]

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]


@dataclass
class FunctionSpec:
    """One ``AWS::Lambda::Function`` of the stack and where its code lives."""

    logical_id: str
    physical_name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    _module: ModuleType | None = None

    def load(self) -> Callable[..., Any]:
        """Import the handler (cold start) once; later calls reuse the warm module."""
        module_file, attr = self.handler.rsplit(".", 1)
        if self._module is None:
            path = self.code_dir / (module_file.replace(".", "/") + ".py")
            name = f"huracan_local_fn_{self.logical_id}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import handler {self.handler} of {self.logical_id} from {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            sys.path.insert(0, str(self.code_dir))
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(self.code_dir))
            self._module = module
        fn: Callable[..., Any] = getattr(self._module, attr)
        return fn


class _Context:
    """The Lambda context attributes Powertools and our handlers read."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.physical_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "local"
        self.log_group_name = f"/aws/lambda/{spec.physical_name}"
        self.log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


class LocalLambdas:
    """The stack's functions by name/ARN; installs and removes the moto ``invoke`` hook."""

    def __init__(self, functions: list[FunctionSpec]) -> None:
        self.by_key: dict[str, FunctionSpec] = {}
        for f in functions:
            for key in (f.logical_id, f.physical_name, f.arn):
                self.by_key[key] = f
        self.functions = functions
        self._original: Any = None
        self._lock = threading.Lock()
        self.faults: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._saved_env: dict[str, str | None] | None = None
        self.invocations: dict[str, int] = {}
        #: set by the runtime when IAM is enforced: each function runs as its own role with its own variables
        self.layer: IdentityLayer | None = None
        self.scopes: dict[str, tuple[Identity, dict[str, str]]] = {}

    def apply_environment(self, overrides: dict[str, str] | None = None) -> None:
        """Set the union of the functions' variables in os.environ (one process hosts them all).

        Variables that two functions set differently would be ambiguous in one process: refuse them.
        ``overrides`` are the local runtime's documented stand-ins (they win over the template).
        """
        merged: dict[str, str] = {}
        for f in self.functions:
            for k, v in f.environment.items():
                if k in merged and merged[k] != v and k != "POWERTOOLS_SERVICE_NAME":
                    raise ValueError(f"functions disagree on environment variable {k}: {merged[k]!r} vs {v!r}")
                merged.setdefault(k, v)
        merged.update(overrides or {})
        if self._saved_env is None:
            self._saved_env = {k: os.environ.get(k) for k in merged}
        os.environ.update(merged)

    def restore_environment(self) -> None:
        """Undo :meth:`apply_environment` (the process outlives the stack, e.g. in a test session)."""
        for k, v in (self._saved_env or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = None

    def run_as_roles(
        self,
        layer: IdentityLayer,
        identities: dict[str, Identity],
        runtime_env: dict[str, str],
        overrides: dict[str, str] | None = None,
    ) -> None:
        """Each function from now on runs as its own role and sees only its own variables, as in Lambda:
        the runtime's (``runtime_env``: region, endpoint), the role's credentials, the function's name, the
        template's variables, then the local runtime's documented stand-ins (``overrides``)."""
        self.layer = layer
        for f in self.functions:
            identity = identities[f.logical_id]
            env = {
                **layer.process_basics(),
                **runtime_env,
                **identity.variables(),
                "AWS_LAMBDA_FUNCTION_NAME": f.physical_name,
                **f.environment,
                **(overrides or {}),
            }
            self.scopes[f.logical_id] = (identity, env)

    def get(self, name_or_arn: str) -> FunctionSpec:
        key = name_or_arn.split(":function:")[-1].split(":")[0] if ":function:" in name_or_arn else name_or_arn
        try:
            return self.by_key[key]
        except KeyError as exc:
            raise KeyError(f"no local function {name_or_arn!r}") from exc

    def invoke(self, name_or_arn: str, event: Any) -> Any:
        """Call a handler like Lambda would; exceptions propagate to the caller."""
        spec = self.get(name_or_arn)
        with self._lock:
            self.invocations[spec.logical_id] = self.invocations.get(spec.logical_id, 0) + 1
        if self.layer is not None:
            identity, env = self.scopes[spec.logical_id]
            with self.layer.scope(identity, env):
                return self._call(spec, event)
        return self._call(spec, event)

    def _call(self, spec: FunctionSpec, event: Any) -> Any:
        fault = self.faults.get(spec.logical_id)
        if fault is not None:
            fault(event)
        return spec.load()(event, _Context(spec))

    def install(self) -> None:
        """Route moto's simple-backend ``Invoke`` to the real handlers."""
        if self._original is not None:
            return
        self._original = LambdaSimpleBackend.invoke
        lambdas = self

        def invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            event = json.loads(body) if body else {}
            try:
                result = lambdas.invoke(function_name, event)
            except Exception as exc:  # a function error, exactly as Lambda reports it
                log.info("function %s raised %s: %s", function_name, type(exc).__name__, exc)
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
            return json.dumps(result).encode()

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            LambdaSimpleBackend.invoke = self._original  # type: ignore[method-assign]
            self._original = None
