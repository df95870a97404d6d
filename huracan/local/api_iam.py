"""API Gateway's IAM auth for the local API stand-in: SigV4 checked against the caller's credentials.

API Gateway answers 403 before the function runs when a request is unsigned ("Missing Authentication Token"),
signed wrongly ("The request signature we calculated does not match ..."), signed with unknown credentials,
or signed by a principal no policy allows ``execute-api:Invoke`` on the route's ARN. The stand-in does the same
with moto's own request check (``moto.iam.access_control.IAMRequest``: the signature recomputed with the
secret of the caller's access key, an IAM user's or an assumed role's, then the caller's policies evaluated
for ``execute-api:Invoke`` on ``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>``, which
moto matches as written, so the route scoping is enforced). It is called, not patched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from requests.structures import CaseInsensitiveDict

__all__ = ["Authorizer", "sigv4_authorizer"]

#: (method, path with query, headers, body) -> None when allowed, else API Gateway's 403 message
Authorizer = Callable[[str, str, Mapping[str, str], bytes | None], str | None]


def sigv4_authorizer(account_id: str, api_arn: str) -> Authorizer:
    """``api_arn``: ``arn:aws:execute-api:<region>:<account>:<api id>/<stage>`` (the policy's resource prefix)."""

    def authorize(method: str, path: str, headers: Mapping[str, str], body: bytes | None) -> str | None:
        from moto.iam.access_control import IAMRequest
        from werkzeug.exceptions import HTTPException  # moto's auth errors are werkzeug HTTP exceptions

        found = CaseInsensitiveDict(headers)
        if "Authorization" not in found or "Credential=" not in str(found["Authorization"]):
            return "Missing Authentication Token"
        if "X-Amz-Date" not in found:
            return "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        try:
            request = IAMRequest(
                account_id=account_id,
                method=method,
                path=path,
                data={},
                body=body or b"",
                headers=found,  # type: ignore[arg-type]
                action="Invoke",
            )
            request.check_signature()
            request.check_action_permitted(f"{api_arn}/{method}{urlsplit(path).path}")
        except HTTPException as err:
            return f"{type(err).__name__}: {getattr(err, 'message', err.description)}"
        return None

    return authorize
