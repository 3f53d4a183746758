"""What every HTTP request passes through: a request id, one structured log line, a body cap,
the client address as a trusted proxy reports it, and the tenant whose rows the request's
transactions may see (the signed-in principal's district; no one signed in sees no rows)."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import cache, wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ler_plugin.audit import bind_request
from ler_plugin.config import Settings
from ler_plugin.db import NOBODY, SYSTEM, Tenant, tenant_scope
from ler_plugin.principal import Principal
from ler_plugin.web.session import principal_from_request

log = logging.getLogger("ler_plugin.http")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]


@cache
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(v.strip(), strict=False) for v in spec.split(",") if v.strip()
    )


def client_ip(settings: Settings, scope: Scope) -> str:
    """The peer's address; behind a trusted proxy, the last untrusted hop of X-Forwarded-For."""
    peer = (scope.get("client") or ("", 0))[0]
    trusted = _networks(settings.trusted_proxies)

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    if not trusted or not is_trusted(peer):
        return str(peer)
    headers = dict(scope.get("headers") or [])
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not is_trusted(hop):
            return hop
    return str(peer)


def system_rows(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """For the routes that find out who is asking (LTI logins and launches, provider tokens,
    share links, registrations): their queries see every district's rows, whatever session
    cookie the browser also sent, and the services they call scope by what they find."""

    @wraps(endpoint)
    async def with_system_rows(request: Request) -> Response:
        with tenant_scope(SYSTEM):
            return await endpoint(request)

    return with_system_rows


class BodyTooLarge(Exception):
    pass


class RequestMiddleware:
    """Request id in and out, a body size cap, one log line per request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_ip"] = client_ip(self.settings, scope)
        # Audit events written while this request runs say where it came from.
        bind_request(state["client_ip"], request_id)
        cap = self.settings.max_body_bytes
        started = time.perf_counter()
        status = 500
        response_started = False

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await self._too_large(send, request_id, cap)
            self._log(scope, 413, started, request_id, state)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                extra = [(b"x-request-id", request_id.encode())]
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra += [(k, v) for k, v in BASE_HEADERS if k not in existing]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        found = principal_from_request(self.settings, Request(scope))
        tenant = Tenant.of(found.district_id) if isinstance(found, Principal) else NOBODY
        try:
            with tenant_scope(tenant):
                await self.app(scope, counted_receive, tagged_send)
        except BodyTooLarge:
            if not response_started:
                await self._too_large(send, request_id, cap)
            status = 413
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            if not response_started:
                await _json(
                    send, 500, {"error": "internal_error", "request_id": request_id}, request_id
                )
            status = 500
        finally:
            self._log(scope, status, started, request_id, state)

    async def _too_large(self, send: Send, request_id: str, cap: int) -> None:
        body = {
            "error": "body_too_large",
            "message": f"the request body is larger than {cap} bytes",
        }
        await _json(send, 413, body, request_id)

    def _log(
        self, scope: Scope, status: int, started: float, request_id: str, state: dict[str, Any]
    ) -> None:
        log.info(
            "%s %s %s",
            scope.get("method"),
            scope.get("path"),
            status,
            extra={
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "client_ip": state.get("client_ip"),
            },
        )


async def _json(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def client_address(request: Request) -> str:
    """The client's address as `RequestMiddleware` worked it out (trusted proxies honoured)."""
    return str(
        getattr(request.state, "client_ip", None) or (request.client.host if request.client else "")
    )


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers and `jq` read."""

    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client_ip")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ler_plugin")
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    root.propagate = False
