"""LTI failures: each refusal has its own stable code, a status and a sentence an LMS admin can act on.

`LtiError` is what we refuse (a registration, a login, a launch); `LtiServiceError`, one of the
family, is a call of ours to an LMS (Advantage services, dynamic registration) that failed on the
LMS's side or was refused by it: 502 unless the code says otherwise.
"""

from __future__ import annotations

from ler_plugin.errors import LerError

# Untrusted or unusable tokens and browser bindings are 401, refused access is 403, the rest 400.
_STATUS = {
    "bad_algorithm": 401,
    "bad_signature": 401,
    "unknown_kid": 401,
    "jwks_unavailable": 401,
    "jwks_invalid": 401,
    "bad_issuer": 401,
    "bad_audience": 401,
    "azp_missing": 401,
    "bad_azp": 401,
    "token_expired": 401,
    "token_from_future": 401,
    "nonce_missing": 401,
    "nonce_mismatch": 401,
    "replay": 401,
    "state_unknown": 401,
    "state_expired": 401,
    "browser_mismatch": 401,
    "browser_unknown": 401,
    "deployment_pending": 403,
    "deployment_rejected": 403,
}


class LtiError(LerError):
    """A registration, login or launch we refuse. Pages show the message and the code, never a trace."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(code, message, status=status or _STATUS.get(code, type(self).status))


class LtiServiceError(LtiError):
    """A call to an LMS failed; `code` says how (refused, forbidden, unavailable, ...)."""

    status = 502
