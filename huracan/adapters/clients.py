"""boto3 clients built once per container, with short timeouts and botocore's standard retries.

The endpoint comes from :class:`~huracan.adapters.settings.AwsSettings` (``AWS_ENDPOINT_URL``), so the
same code talks to AWS or to the local moto server without knowing which.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from huracan.adapters.settings import AwsSettings

__all__ = ["client"]

_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 3},
)


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def client(service: str, settings: AwsSettings) -> Any:
    """A cached low-level client for ``service`` at the configured endpoint and region.

    Keyed on the endpoint and region only, not on the whole settings object: every function (and each
    nightly run, whose settings carry the night's date) would otherwise build its own client, and building
    one costs ~0.1 s of service-model loading — per night, per function, for the same endpoint.
    """
    return _client(service, settings.region, settings.endpoint_url)


@cache
def _client(service: str, region: str, endpoint_url: str | None) -> Any:
    return _session().client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=endpoint_url,
        config=_CONFIG,
    )
