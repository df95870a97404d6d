"""Domain errors the adapters raise instead of botocore / pynamodb exceptions.

The logic layer decides what to do from the *kind* of failure only: a :class:`TransientError` is worth a
retry (Lambda re-delivers the record), everything else is permanent. Keeping that decision here, next to
the SDKs, means no code above the adapters ever inspects an AWS error code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.exceptions
from pynamodb.exceptions import PynamoDBException

__all__ = [
    "AdapterError",
    "AlreadyExists",
    "NotOpen",
    "PermanentError",
    "TransientError",
    "describe_failure",
    "is_transient_code",
    "translate_errors",
]

#: Error codes that mean "try again later", across DynamoDB, SQS, Step Functions and S3.
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "LimitExceededException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "TransactionConflictException",
        "RequestTimeout",
        "RequestTimeoutException",
        "AWS.SimpleQueueService.RequestThrottled",
        "KMSInternalException",
    }
)

#: botocore exceptions raised before any answer arrives: the request may or may not have been applied.
_TRANSIENT_BOTOCORE = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.EndpointConnectionError,
)


class AdapterError(Exception):
    """Base of every error the adapters raise; ``operation`` names the AWS call that failed."""

    def __init__(self, message: str, *, operation: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code


class TransientError(AdapterError):
    """Throttling, a timeout or a 5xx: the same call may succeed later, so the record is retried."""


class PermanentError(AdapterError):
    """The backend refused the call for a reason a retry will not fix (validation, access, missing resource)."""


class AlreadyExists(AdapterError):
    """A conditional create found the item already there: a redelivered record, not a failure."""


class NotOpen(AdapterError):
    """A conditional update found the trade no longer OPEN: it was already closed (or marked ERROR)."""


def is_transient_code(code: str | None) -> bool:
    """True for the AWS error codes that mean throttling or a temporary server-side failure."""
    return code is not None and (code in TRANSIENT_CODES or code.endswith("ThrottlingException"))


def _code_of(exc: BaseException) -> str | None:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    if isinstance(exc, PynamoDBException):
        code = exc.cause_response_code
        return str(code) if code else None
    return None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT_BOTOCORE):
        return True
    if isinstance(exc, PynamoDBException):
        cause = exc.cause
        if cause is not None and cause is not exc and _is_transient(cause):
            return True
        # pynamodb's own retry loop for unprocessed batch items gives up with a bare PutError
        if exc.cause is None and "max_retry_attempts exceeded" in str(exc):
            return True
    return is_transient_code(_code_of(exc))


@contextmanager
def translate_errors(operation: str, *, conflict: type[AdapterError] | None = None) -> Iterator[None]:
    """Re-raise SDK failures of ``operation`` as domain errors (``raise ... from exc``).

    ``conflict`` is the error a failed condition check means for this call (``AlreadyExists`` for a
    create, ``NotOpen`` for a close); without it a failed condition is a :class:`PermanentError`.
    """
    try:
        yield
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, PynamoDBException) as exc:
        code = _code_of(exc)
        if code == "ConditionalCheckFailedException" and conflict is not None:
            raise conflict(f"{operation}: condition failed", operation=operation, code=code) from exc
        if _is_transient(exc):
            raise TransientError(
                f"{operation}: {code or type(exc).__name__}: {exc}", operation=operation, code=code
            ) from exc
        raise PermanentError(
            f"{operation}: {code or type(exc).__name__}: {exc}", operation=operation, code=code
        ) from exc


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        nxt = cur.cause if isinstance(cur, PynamoDBException) else None
        cur = nxt if nxt is not None and nxt is not cur else (cur.__cause__ or cur.__context__)


def describe_failure(exc: BaseException) -> str | None:
    """One sentence for a user about an AWS set-up failure anywhere in ``exc``'s chain, or None if it is not one.

    For the command line: a missing region or credentials, an endpoint nobody answers on or a refused call is
    the user's environment, not a bug, and deserves a sentence that says what to do instead of a traceback.
    """
    for e in _chain(exc):
        if isinstance(e, botocore.exceptions.NoRegionError):
            return (
                "no AWS region is configured: set AWS_DEFAULT_REGION (or AWS_REGION), or pass --endpoint URL "
                "with the address the demo prints to reach its embedded AWS"
            )
        if isinstance(e, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
            return (
                "no AWS credentials were found: configure them (aws configure, AWS_PROFILE, or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or pass --endpoint URL for the demo's embedded AWS"
            )
        if isinstance(e, botocore.exceptions.EndpointConnectionError):
            where = e.kwargs.get("endpoint_url", "the endpoint")
            return f"nothing answers at {where}: is the stack (or the demo that printed this endpoint) still running?"
        if isinstance(e, botocore.exceptions.ClientError):
            err = e.response.get("Error", {})
            if err.get("Code") in ("InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId"):
                return (
                    "the endpoint does not know these AWS credentials; for the demo's embedded AWS use the keys "
                    "in the 'Watch it from another shell' line it printed"
                )
            op = getattr(e, "operation_name", "the request")
            return f"AWS refused {op}: {err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ")
    return None
