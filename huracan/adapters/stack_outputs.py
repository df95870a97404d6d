"""A deployed stack's outputs as the environment its functions see, for the CLI's `--stack NAME`.

The CLI reaches a deployed stack (or the demo's embedded one, with ``--endpoint``) exactly like the functions
do: through the variables the template gives them, here read back from the stack's ``Outputs``.
"""

from __future__ import annotations

from typing import Any

import boto3

__all__ = ["OUTPUT_TO_ENV", "StackNotFound", "stack_environment"]

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
        raise StackNotFound(f"stack {stack_name!r} not found: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    env = {var: outputs[key] for key, var in OUTPUT_TO_ENV.items() if key in outputs}
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env
