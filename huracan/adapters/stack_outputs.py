"""A deployed stack's outputs as the environment its functions see, for the CLI's `--stack NAME`.

The CLI reaches a deployed stack (or the demo's embedded one, with ``--endpoint``) exactly like the functions
do: through the variables the template gives them, here read back from the stack's ``Outputs``.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

import boto3

__all__ = ["EMBEDDED_REGION", "OUTPUT_TO_ENV", "StackNotFound", "stack_environment", "use_stack"]

#: The region of the demo's embedded AWS (huracan.local.aws.LOCAL_REGION; not imported: that module needs moto).
EMBEDDED_REGION = "eu-west-2"

#: template.yaml Outputs -> the environment variable the functions read
OUTPUT_TO_ENV = {
    "ShadowTradesTableName": "SHADOW_TRADES_TABLE",
    "TradesTableName": "TRADES_TABLE",
    "DecisionsTableName": "DECISIONS_TABLE",
    "PricesTableName": "PRICES_TABLE",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE",
    "MarketStreamName": "MARKET_STREAM_NAME",
    "StreamDeadLetterQueueUrl": "DEAD_LETTER_QUEUE_URL",
    "TimerDeadLetterQueueUrl": "TIMER_DLQ_URL",
    "ShadowTradeTimerArn": "TIMER_STATE_MACHINE_ARN",
    "ModelBucketName": "MODEL_BUCKET",
    "NotificationsTopicArn": "NOTIFICATIONS_TOPIC_ARN",
    "ModelSigningKeyId": "MODEL_SIGNING_KEY_ID",
    "HamiltonHmacSecretArn": "HAMILTON_HMAC_SECRET_ARN",
}


class StackNotFound(LookupError):
    """No stack of that name where the credentials and endpoint point."""


def stack_environment(stack_name: str, endpoint_url: str | None = None) -> dict[str, str]:
    """The functions' environment variables for ``stack_name`` (plus ``AWS_ENDPOINT_URL`` when given)."""
    kwargs: dict[str, Any] = {"endpoint_url": endpoint_url} if endpoint_url else {}
    cf = boto3.client("cloudformation", **kwargs)
    try:
        stacks = cf.describe_stacks(StackName=stack_name)["Stacks"]
    except cf.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        if err.get("Code") != "ValidationError":  # refused (credentials, permissions), not absent: say that
            raise
        where = endpoint_url or f"AWS region {cf.meta.region_name}"
        raise StackNotFound(f"no stack named {stack_name!r} at {where}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    env = {var: outputs[key] for key, var in OUTPUT_TO_ENV.items() if key in outputs}
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def _loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def use_stack(stack_name: str, endpoint_url: str | None = None) -> dict[str, str]:
    """Point this process at ``stack_name`` (its Outputs as the functions' environment); returns what was set.

    With a loopback ``endpoint_url`` (the demo's embedded AWS, which accepts any credentials) a missing
    region and missing credentials default to the embedded stack's, so the README's
    ``huracan feed --stack huracan-local --endpoint http://127.0.0.1:PORT`` works from a fresh shell.
    """
    if endpoint_url and _loopback(endpoint_url):
        if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
            os.environ["AWS_DEFAULT_REGION"] = EMBEDDED_REGION
        if not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
            os.environ["AWS_ACCESS_KEY_ID"] = "testing"
            os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    env = stack_environment(stack_name, endpoint_url)
    os.environ.update(env)
    return env
