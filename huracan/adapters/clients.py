"""AWS clients built once per container, with short timeouts and botocore's standard retries.

The endpoint comes from :class:`~huracan.adapters.settings.AwsSettings` (``AWS_ENDPOINT_URL``), so the
same code talks to AWS or to the local moto server without knowing which.

Clients come from a *botocore* session, not boto3's: a boto3 client is the botocore client (boto3 adds
resources and s3transfer's upload helpers, neither used by a function), and importing boto3 costs ~50 ms of
every cold start (s3transfer, multiprocessing, its compat shims) before any work is done.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

from huracan.adapters.settings import AwsSettings

__all__ = ["client", "env_client"]

_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 3},
)


@cache
def _session() -> botocore.session.Session:
    # One per process, as boto3's default session: credentials are resolved once and reused by every client.
    return botocore.session.get_session()


def client(service: str, settings: AwsSettings) -> Any:
    """A cached low-level client for ``service`` at the configured endpoint and region.

    Keyed on the endpoint and region only, not on the whole settings object: every function (and each
    nightly run, whose settings carry the night's date) would otherwise build its own client, and building
    one costs ~0.1 s of service-model loading — per night, per function, for the same endpoint.
    """
    return _client(service, settings.region, settings.endpoint_url)


@cache
def _client(service: str, region: str, endpoint_url: str | None) -> Any:
    return _session().create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=_CONFIG,
    )


def env_client(service: str) -> Any:
    """A new client configured by the environment alone, as ``boto3.client(service)`` is.

    For the pieces built without settings (the registry's S3 store and KMS signer, which Hamilton uses
    too): region, credentials and ``AWS_ENDPOINT_URL`` are read now, so each store sees the environment it
    was first used in. Callers keep the client they get.
    """
    return _session().create_client(service, config=_CONFIG)
