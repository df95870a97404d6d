"""SigV4 for Hamilton's calls to the API (API Gateway with IAM auth), through botocore's own signer.

API Gateway refuses an unsigned request ("Missing Authentication Token") before the function runs, and checks
the signature against the caller's IAM credentials: the policy the stack outputs (``HamiltonPolicyArn``) grants
``execute-api:Invoke`` on the two routes. No signing is written here: :class:`botocore.auth.SigV4Auth` signs
exactly as the AWS SDKs do (service ``execute-api``), with the credentials of a botocore session (environment,
profile, instance or task role) or given ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

__all__ = ["SigV4Signer"]


class SigV4Signer:
    """Signs one request for ``execute-api`` in ``region``; credentials are read at each signature (refreshed)."""

    def __init__(self, credentials: Any, region: str, service: str = "execute-api") -> None:
        if credentials is None:
            raise ValueError("no AWS credentials to sign the API requests with")
        self.credentials = credentials
        self.region = region
        self.service = service

    @classmethod
    def from_session(cls, region: str | None = None, profile: str | None = None) -> SigV4Signer:
        """Credentials and region as the AWS SDKs find them (environment, ``~/.aws``, instance/task role)."""
        import botocore.session

        session = botocore.session.Session(profile=profile)
        found = region or session.get_config_variable("region")
        if not found:
            raise ValueError("no AWS region: pass region or set AWS_REGION")
        return cls(session.get_credentials(), str(found))

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to send: ``headers`` plus Authorization, X-Amz-Date (and X-Amz-Security-Token)."""
        request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
        SigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(request)
        return {str(k): str(v) for k, v in request.headers.items()}
