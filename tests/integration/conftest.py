"""Integration fixtures: one moto server over real HTTP on 127.0.0.1, shared by the whole session.

``moto_server`` starts :class:`moto.server.ThreadedMotoServer` (through :class:`huracan.local.aws.EmbeddedAws`,
the same code the local stack uses) on a free loopback port and points boto3 / pynamodb at it through
the environment only: ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION=eu-west-2`` and dummy credentials. Code
under test therefore needs no test hooks; it finds the server exactly as it would find AWS. The variables
(and ``AWS_PROFILE``, removed so a developer's profile cannot leak in) are restored and the server
stopped when the session ends.

Usage::

    def test_x(moto_server: str) -> None:          # the endpoint URL, e.g. http://127.0.0.1:43123
        s3 = boto3.client("s3")                    # already points at the server

    def test_y(moto_aws: EmbeddedAws) -> None:      # the handle, e.g. moto_aws.reset() to drop resources

Resources persist across tests (the server is per session): give buckets / tables unique names per test
(e.g. from ``uuid4``) or call ``moto_aws.reset()``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from huracan.local.aws import LOCAL_REGION, EmbeddedAws


@pytest.fixture(scope="session")
def moto_aws() -> Iterator[EmbeddedAws]:
    """The running embedded AWS (server + environment); stopped and the environment restored at the end."""
    profile = os.environ.pop("AWS_PROFILE", None)
    aws = EmbeddedAws(region=LOCAL_REGION)
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()
        if profile is not None:
            os.environ["AWS_PROFILE"] = profile


@pytest.fixture(scope="session")
def moto_server(moto_aws: EmbeddedAws) -> str:
    """The moto server's endpoint URL (``http://127.0.0.1:<port>``); the environment already points at it."""
    return moto_aws.endpoint
