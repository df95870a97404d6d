"""Registry errors: one kind for "this model must not be used", one for "there is no such model".

A caller that serves predictions (Hamilton, the evaluate Lambda) only needs to tell those two apart: a
:class:`ModelVerificationError` means keep the model you already have and alert someone; a
:class:`ModelNotFoundError` means nothing has been published yet.
"""

from __future__ import annotations

__all__ = ["BlobNotFoundError", "ModelNotFoundError", "ModelVerificationError", "RegistryError"]


class RegistryError(Exception):
    """Base of every registry failure, so callers can catch the registry as a whole."""


class ModelNotFoundError(RegistryError, LookupError):
    """No model (or no published ``latest.json``) exists under that name or id."""


class BlobNotFoundError(RegistryError, LookupError):
    """A storage key is absent; raised by the stores so the registry never sees an SDK error."""

    def __init__(self, key: str, location: str) -> None:
        super().__init__(f"{location}: {key} does not exist")
        self.key = key
        self.location = location


class ModelVerificationError(RegistryError):
    """A stored model failed a hash, size, id or signature check and was refused before deserialising.

    ``file`` names the object that failed (``model.lgb.txt``, ``manifest.sig``, ``latest.json``...);
    ``expected`` / ``actual`` hold the two hashes (or sizes) when the failure is a mismatch.
    """

    def __init__(
        self,
        message: str,
        *,
        model_id: str | None = None,
        file: str | None = None,
        expected: str | None = None,
        actual: str | None = None,
    ) -> None:
        parts = [message]
        if model_id:
            parts.append(f"model {model_id}")
        if file:
            parts.append(f"file {file}")
        if expected is not None or actual is not None:
            parts.append(f"expected {expected}, got {actual}")
        super().__init__("; ".join(parts))
        self.model_id = model_id
        self.file = file
        self.expected = expected
        self.actual = actual
