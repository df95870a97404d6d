"""RotateHmacSecretFunction: Secrets Manager's rotation of Hamilton's HMAC key (every 30 days).

Thin by design (STYLE.md): Secrets Manager calls it once per step with ``{"SecretId", "ClientRequestToken",
"Step"}``; the body hands the step to :func:`huracan.adapters.secrets.rotate_hmac_secret`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from huracan.adapters.secrets import rotate_hmac_secret
from huracan.adapters.settings import AwsSettings

__all__ = ["lambda_handler"]

logger = Logger(service="huracan-rotate-hmac-secret")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    secret_id, token, step = (str(event.get(k) or "") for k in ("SecretId", "ClientRequestToken", "Step"))
    if not (secret_id and token and step):
        raise ValueError("a rotation event needs SecretId, ClientRequestToken and Step")
    rotate_hmac_secret(step, secret_id, token, AwsSettings.from_env())
    logger.info("rotation step done", extra={"step": step})
