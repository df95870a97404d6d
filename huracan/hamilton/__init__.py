"""Hamilton's client library: the published model (verified, gated) and signed outcome posts.

See :class:`HamiltonClient`; this package imports no AWS SDK unless the registry is in S3 or requests are
SigV4-signed for API Gateway (:class:`huracan.hamilton.sigv4.SigV4Signer`, botocore's signer).
"""

from __future__ import annotations

from huracan.hamilton.client import (
    Adoption,
    ApiUnavailable,
    HamiltonClient,
    HttpResponse,
    OutcomeConflict,
    OutcomeReceipt,
    OutcomeRejected,
    PublishedModel,
    Transport,
    urllib_transport,
)
from huracan.hamilton.outbox import Outbox, OutboxEntry

__all__ = [
    "Adoption",
    "ApiUnavailable",
    "HamiltonClient",
    "HttpResponse",
    "Outbox",
    "OutboxEntry",
    "OutcomeConflict",
    "OutcomeReceipt",
    "OutcomeRejected",
    "PublishedModel",
    "Transport",
    "urllib_transport",
]
