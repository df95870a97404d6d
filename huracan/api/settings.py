"""OutcomeApiFunction's environment as a schema, validated on the first request (not at import).

Import must do no I/O and must not fail (``chalice local`` and the tests import the app first and
configure it after), so the settings are read lazily by :func:`huracan.api.handlers.context`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from huracan.adapters.settings import TableSettings

__all__ = ["DEFAULT_MAX_BODY_BYTES", "OutcomeApiSettings"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024
_Name = Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")]


class OutcomeApiSettings(TableSettings):
    """Tables (the template's globals), Hamilton's HMAC secret, the replay store and the model registry.

    The registry is ``HURACAN_MODEL_PATH`` (a folder or ``s3://`` URL) if set, else
    ``s3://$MODEL_BUCKET/models`` verified with the KMS key ``MODEL_SIGNING_KEY_ID``.
    Without ``IDEMPOTENCY_TABLE`` the replay cache is per process (fine for one ``chalice local``).
    """

    hmac_secret_arn: str = Field(alias="HAMILTON_HMAC_SECRET_ARN", min_length=1, max_length=2048)
    idempotency_table: _Name | None = Field(default=None, alias="IDEMPOTENCY_TABLE")
    model_bucket: _Name | None = Field(default=None, alias="MODEL_BUCKET")
    model_path: str | None = Field(default=None, alias="HURACAN_MODEL_PATH", min_length=1)
    model_signing_key_id: str | None = Field(default=None, alias="MODEL_SIGNING_KEY_ID", min_length=1)
    api_clock: str | None = Field(default=None, alias="HURACAN_API_CLOCK")
    max_body_bytes: Annotated[int, Field(gt=0, le=1024 * 1024)] = Field(
        default=DEFAULT_MAX_BODY_BYTES, alias="HURACAN_API_MAX_BODY_BYTES"
    )
