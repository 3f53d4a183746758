"""The one guarded HTTP fetcher for every URL that came from outside.

Badge assertions, badge classes, issuers, keys, revocation lists, images, did:web documents,
JSON schemas and LMS key sets all arrive as URLs someone else chose. Fetching them naively lets
that someone make this server call its own admin ports, the cloud metadata service or the
district's private network (SSRF), or hand it a 10 KB gzip that inflates to gigabytes.

One `FetchPolicy` decides what may be fetched; it has two faces:

- `GuardedTransport` / `AsyncGuardedTransport`: httpx transports for our own calls (the app's one
  `guarded_async_client`), and `fetch`, which follows redirects itself and returns the body;
- `guarded_session`: a `requests.Session` mounted with `GuardedAdapter`, handed to badgecheck.

Every request, and every redirect hop, is vetted the same way: http(s) only, ports 80/443
(loopback any port, and only with ``allow_insecure_loopback``), every resolved address public.
The connection goes to the address that was vetted (the name is not resolved twice, so DNS
rebinding cannot swap it), while the Host header and the TLS certificate check keep the name.
Bodies are decompressed here, in bounded steps, and counted after decompression.
A `FetchBudget`, made by the caller per verification, caps the number of requests.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx
import requests
from requests.adapters import HTTPAdapter

from ler_plugin.errors import LerError

if TYPE_CHECKING:
    from ler_plugin.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

DEFAULT_PORTS = frozenset({80, 443})
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024

_METADATA = ipaddress.ip_address("169.254.169.254")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ULA = ipaddress.ip_network("fc00::/7")


class FetchError(LerError):
    """A URL we would not or could not fetch. `upstream_status` is the remote HTTP status."""

    status = 400

    def __init__(
        self, code: str, message: str, *, url: str = "", upstream_status: int | None = None
    ) -> None:
        super().__init__(code, message, status=502 if code in _UPSTREAM_CODES else None)
        self.url = url
        self.upstream_status = upstream_status


_UPSTREAM_CODES = {"timeout", "connection_failed", "http_error", "too_large"}


def default_resolver(host: str) -> list[str]:
    """Every address the system resolver gives for `host` (TCP)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    allow_insecure_loopback: bool = False
    timeout: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    max_requests: int = 30
    # Where loopback is allowed, optionally only these ports (the demo badge host's): a badge
    # hosted on the demo server then still cannot send us to a database or admin port.
    loopback_ports: frozenset[int] | None = None
    resolver: Resolver = default_resolver
    # Certificate authorities to trust instead of the standard bundle (PEM file), for a demo
    # or test badge host with its own CA; None trusts the usual public CAs.
    tls_ca_file: str | None = None

    def tls_verify(self) -> ssl.SSLContext | bool:
        if self.tls_ca_file is None:
            return True
        return ssl.create_default_context(cafile=self.tls_ca_file)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> FetchPolicy:
        return cls(allow_insecure_loopback=settings.allow_insecure_loopback, **overrides)

    def new_budget(self) -> FetchBudget:
        return FetchBudget(self.max_requests)


@dataclass
class FetchBudget:
    """How many more requests one verification may make (redirect hops count)."""

    remaining: int

    def spend(self, url: str) -> None:
        if self.remaining <= 0:
            raise FetchError(
                "budget_exhausted",
                f"too many requests for one verification; stopped before fetching {url}",
                url=url,
            )
        self.remaining -= 1


@dataclass(frozen=True)
class Target:
    """A URL that passed the policy, with the addresses to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The same URL with the host replaced by the vetted address."""
        parts = urlsplit(self.url)
        netloc = f"[{address}]" if ":" in address else address
        rest = parts.path or "/"
        if parts.query:
            rest += "?" + parts.query
        return f"{self.scheme}://{netloc}:{self.port}{rest}"


def _why_forbidden(ip: IPAddress) -> str | None:
    """Why this address may not be fetched, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _why_forbidden(ip.ipv4_mapped)
        if ip.sixtofour is not None and _why_forbidden(ip.sixtofour):
            return "a 6to4 address of a non-public network"
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            if _why_forbidden(embedded):
                return "a NAT64 address of a non-public network"
        if ip.teredo is not None:
            return "a Teredo tunnel address"
        if ip in _ULA:
            return "a private network (unique local address)"
    if ip == _METADATA:
        return "the cloud metadata service"
    if ip.is_loopback:
        return "this server itself (loopback)"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT network"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private network"
    if not ip.is_global:
        return "a reserved address"
    return None


def _is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def check_redirect(previous: str, url: str) -> None:
    """A redirect from https down to plain http is refused (the rest is vetted like any URL)."""
    if urlsplit(previous).scheme.lower() == "https" and urlsplit(url).scheme.lower() == "http":
        raise FetchError(
            "blocked_scheme",
            f"{previous} redirected from https down to plain http ({url})",
            url=url,
        )


def vet(url: str, policy: FetchPolicy) -> Target:
    """Check `url` against the policy and resolve it; `FetchError` if it may not be fetched."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise FetchError("invalid_url", f"{url!r} is not a valid URL", url=url) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(
            "blocked_scheme", f"only http and https URLs can be fetched, not {url!r}", url=url
        )
    if not host:
        raise FetchError("invalid_url", f"{url!r} has no host name", url=url)
    if parts.username or parts.password:
        raise FetchError("invalid_url", f"{url!r} carries a user name or password", url=url)
    port = port or (443 if scheme == "https" else 80)

    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        candidates = [str(literal)]
    else:
        try:
            candidates = policy.resolver(host)
        except (OSError, UnicodeError) as exc:
            raise FetchError(
                "connection_failed", f"the host name {host} could not be resolved ({exc})", url=url
            ) from None
        if not candidates:
            raise FetchError("connection_failed", f"the host name {host} has no address", url=url)

    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in candidates]
    all_loopback = all(_is_loopback(ip) for ip in addresses)
    for ip in addresses:
        reason = _why_forbidden(ip)
        if reason is None:
            continue
        if all_loopback and policy.allow_insecure_loopback:
            continue  # a name mixing loopback with other addresses is refused all the same
        raise FetchError(
            "blocked_address",
            f"{url} is hosted at an address this server may not fetch ({ip}, {reason})",
            url=url,
        )
    if all_loopback and policy.allow_insecure_loopback:
        if policy.loopback_ports is not None and port not in policy.loopback_ports:
            raise FetchError(
                "blocked_port",
                f"{url} uses a local port this server may not fetch ({port})",
                url=url,
            )
    elif port not in DEFAULT_PORTS:
        raise FetchError(
            "blocked_port",
            f"{url} uses port {port}; only the standard ports 80 and 443 may be fetched",
            url=url,
        )
    return Target(url, scheme, host, port, tuple(str(ip) for ip in addresses))


class BodyDecoder:
    """Decompresses a body in bounded steps and counts what comes out.

    The size cap applies after decompression, and no step inflates more than the room left, so
    a gzip bomb is stopped having allocated at most `max_bytes`. The time limit covers the whole
    body, so a server that drips one byte at a time is stopped too.
    """

    def __init__(self, encoding: str | None, url: str, policy: FetchPolicy, deadline: float):
        encoding = (encoding or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        elif encoding == "identity":
            self._z = None
        else:
            raise FetchError(
                "unsupported_encoding", f"{url} was sent with encoding {encoding!r}", url=url
            )
        self._url = url
        self._max = policy.max_bytes
        self._deadline = deadline
        self._raw = 0
        self.size = 0

    def _count(self, n: int) -> None:
        self.size += n
        if self.size > self._max:
            raise FetchError(
                "too_large",
                f"{self._url} is larger than the {self._max // 1024} KB this server accepts",
                url=self._url,
            )

    def feed(self, data: bytes) -> bytes:
        if time.monotonic() > self._deadline:
            raise FetchError("timeout", f"{self._url} took too long to download", url=self._url)
        self._raw += len(data)
        if self._raw > self._max:
            self._count(self._max + 1)
        if self._z is None:
            self._count(len(data))
            return data
        out = []
        try:
            while data:
                piece = self._z.decompress(data, self._max - self.size + 1)
                self._count(len(piece))
                out.append(piece)
                data = self._z.unconsumed_tail
        except zlib.error as exc:
            raise FetchError(
                "bad_encoding", f"{self._url} sent a body that does not decompress ({exc})"
            ) from None
        return b"".join(out)

    def flush(self) -> bytes:
        if self._z is None:
            return b""
        piece: bytes = self._z.flush(self._max - self.size + 1)
        self._count(len(piece))
        return piece


def _decoded_headers(headers: httpx.Headers) -> httpx.Headers:
    # The body is handed on already decoded: drop what described the encoded one.
    return httpx.Headers(
        [
            (k, v)
            for k, v in headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
    )


class _DecodedStream(httpx.SyncByteStream):
    def __init__(self, raw: Iterable[bytes], decoder: BodyDecoder, close: Callable[[], None]):
        self._raw = raw
        self._decoder = decoder
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._raw:
                yield self._decoder.feed(chunk)
        except httpx.TimeoutException:
            raise FetchError("timeout", "the server took too long to answer") from None
        yield self._decoder.flush()

    def close(self) -> None:
        self._close()


class _AsyncDecodedStream(httpx.AsyncByteStream):
    def __init__(self, raw: httpx.AsyncByteStream, decoder: BodyDecoder):
        self._raw = raw
        self._decoder = decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._raw:
                yield self._decoder.feed(chunk)
        except httpx.TimeoutException:
            raise FetchError("timeout", "the server took too long to answer") from None
        yield self._decoder.flush()

    async def aclose(self) -> None:
        await self._raw.aclose()


def _pinned_request(request: httpx.Request, target: Target, address: str) -> httpx.Request:
    headers = httpx.Headers(request.headers)
    headers["Host"] = target.host_header
    headers["Accept-Encoding"] = ACCEPT_ENCODING
    extensions = dict(request.extensions)
    if target.scheme == "https":
        # TLS: SNI and the certificate check use the name, the socket the vetted address.
        extensions["sni_hostname"] = target.host
    return httpx.Request(
        request.method,
        target.url_for(address),
        headers=headers,
        stream=request.stream,
        extensions=extensions,
    )


def _connect_error(target: Target, exc: Exception) -> FetchError:
    if isinstance(exc, httpx.TimeoutException):
        return FetchError("timeout", f"{target.url} did not answer in time", url=target.url)
    return FetchError(
        "connection_failed", f"could not connect to {target.host} ({exc})", url=target.url
    )


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that vets, pins and caps every request (see the module doc)."""

    def __init__(self, policy: FetchPolicy, budget: FetchBudget | None = None) -> None:
        self.policy = policy
        self.budget = budget or policy.new_budget()
        # One connection pool per host name: a pooled TLS connection is never reused for
        # another name that happens to share its address.
        self._pools: dict[tuple[str, str], httpx.HTTPTransport] = {}

    def _pool(self, target: Target) -> httpx.HTTPTransport:
        key = (target.scheme, target.host)
        if key not in self._pools:
            self._pools[key] = httpx.HTTPTransport(retries=0, verify=self.policy.tls_verify())
        return self._pools[key]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = vet(str(request.url), self.policy)
        self.budget.spend(target.url)
        deadline = time.monotonic() + self.policy.timeout
        error: Exception | None = None
        for address in target.addresses:
            try:
                response = self._pool(target).handle_request(
                    _pinned_request(request, target, address)
                )
            except httpx.TransportError as exc:
                error = exc
                continue
            decoder = BodyDecoder(
                response.headers.get("content-encoding"), target.url, self.policy, deadline
            )
            assert isinstance(response.stream, httpx.SyncByteStream)
            return httpx.Response(
                response.status_code,
                headers=_decoded_headers(response.headers),
                stream=_DecodedStream(response.stream, decoder, response.close),
                extensions=response.extensions,
            )
        assert error is not None
        raise _connect_error(target, error)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


class AsyncGuardedTransport(httpx.AsyncBaseTransport):
    """The async twin of `GuardedTransport`; name resolution runs in a worker thread."""

    def __init__(self, policy: FetchPolicy, budget: FetchBudget | None = None) -> None:
        self.policy = policy
        self.budget = budget or policy.new_budget()
        self._pools: dict[tuple[str, str], httpx.AsyncHTTPTransport] = {}

    def _pool(self, target: Target) -> httpx.AsyncHTTPTransport:
        key = (target.scheme, target.host)
        if key not in self._pools:
            self._pools[key] = httpx.AsyncHTTPTransport(retries=0, verify=self.policy.tls_verify())
        return self._pools[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = await anyio.to_thread.run_sync(vet, str(request.url), self.policy)
        self.budget.spend(target.url)
        deadline = time.monotonic() + self.policy.timeout
        error: Exception | None = None
        for address in target.addresses:
            try:
                response = await self._pool(target).handle_async_request(
                    _pinned_request(request, target, address)
                )
            except httpx.TransportError as exc:
                error = exc
                continue
            decoder = BodyDecoder(
                response.headers.get("content-encoding"), target.url, self.policy, deadline
            )
            assert isinstance(response.stream, httpx.AsyncByteStream)
            return httpx.Response(
                response.status_code,
                headers=_decoded_headers(response.headers),
                stream=_AsyncDecodedStream(response.stream, decoder),
                extensions=response.extensions,
            )
        assert error is not None
        raise _connect_error(target, error)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError):
            raise FetchError(
                "invalid_json", f"{self.url} did not return JSON", url=self.url
            ) from None


def guarded_client(policy: FetchPolicy, budget: FetchBudget | None = None) -> httpx.Client:
    """An httpx client whose every request goes through the guard; redirects are not followed
    (use `fetch`, which vets each hop)."""
    return httpx.Client(
        transport=GuardedTransport(policy, budget), timeout=policy.timeout, follow_redirects=False
    )


def guarded_async_client(
    policy: FetchPolicy, budget: FetchBudget | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=AsyncGuardedTransport(policy, budget),
        timeout=policy.timeout,
        follow_redirects=False,
    )


def _next_hop(url: str, response: httpx.Response, hops: int, policy: FetchPolicy) -> str | None:
    if response.status_code not in (301, 302, 303, 307, 308):
        return None
    location = response.headers.get("location")
    if not location:
        return None
    if hops >= policy.max_redirects:
        raise FetchError(
            "too_many_redirects",
            f"{url} redirected more than {policy.max_redirects} times",
            url=url,
        )
    return urljoin(url, location)


def _checked(url: str, response: httpx.Response, content: bytes) -> Fetched:
    if response.status_code >= 400:
        raise FetchError(
            "http_error",
            f"{url} answered HTTP {response.status_code}",
            url=url,
            upstream_status=response.status_code,
        )
    return Fetched(url, response.status_code, response.headers, content)


def _httpx_error(url: str, exc: httpx.HTTPError) -> FetchError:
    if isinstance(exc, httpx.TimeoutException):
        return FetchError("timeout", f"{url} did not answer in time", url=url)
    return FetchError("connection_failed", f"fetching {url} failed ({exc})", url=url)


def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    budget: FetchBudget | None = None,
    accept: str = "application/json",
    client: httpx.Client | None = None,
) -> Fetched:
    """GET `url` through the guard, following redirects hop by hop; a non-2xx answer raises."""
    own = client is None
    client = client or guarded_client(policy, budget)
    try:
        hops = 0
        previous: str | None = None
        while True:
            if previous is not None:
                check_redirect(previous, url)
            try:
                response = client.get(url, headers={"Accept": accept})
            except httpx.HTTPError as exc:
                raise _httpx_error(url, exc) from None
            next_url = _next_hop(url, response, hops, policy)
            if next_url is None:
                return _checked(url, response, response.content)
            previous, url, hops = url, next_url, hops + 1
    finally:
        if own:
            client.close()


# --- the requests face, for badgecheck -------------------------------------------------------


@dataclass
class FetchRecord:
    """One request made through a guarded session: what came back, or why it was refused."""

    url: str
    status: int | None = None
    content_type: str | None = None
    error: FetchError | None = None


class GuardedAdapter(HTTPAdapter):
    """A requests adapter applying the policy; it records every request in `log`."""

    def __init__(self, policy: FetchPolicy, budget: FetchBudget) -> None:
        super().__init__(max_retries=0)
        self.policy = policy
        self.budget = budget
        self.log: list[FetchRecord] = []

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        kwargs: dict[str, Any] = dict(pool_kwargs)
        name = getattr(request, "tls_hostname", None)
        if name:
            # The socket goes to the vetted address; SNI and the certificate check use the name.
            kwargs["server_hostname"] = name
            kwargs["assert_hostname"] = name
        return host_params, kwargs

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = request.url or ""
        record = FetchRecord(url)
        self.log.append(record)
        try:
            target = vet(url, self.policy)
            self.budget.spend(url)
            response = self._send_pinned(request, target)
        except FetchError as exc:
            record.error = exc
            raise
        record.status = response.status_code
        record.content_type = response.headers.get("content-type")
        return response

    def _send_pinned(self, request: requests.PreparedRequest, target: Target) -> requests.Response:
        deadline = time.monotonic() + self.policy.timeout
        error: Exception | None = None
        for address in target.addresses:
            pinned = request.copy()
            pinned.url = target.url_for(address)
            pinned.headers["Host"] = target.host_header
            pinned.headers["Accept-Encoding"] = ACCEPT_ENCODING
            if target.scheme == "https":
                pinned.tls_hostname = target.host  # type: ignore[attr-defined]
            try:
                response = super().send(
                    pinned,
                    stream=True,
                    timeout=self.policy.timeout,
                    verify=self.policy.tls_ca_file or True,
                )
            except requests.Timeout:
                raise FetchError(
                    "timeout", f"{target.url} did not answer in time", url=target.url
                ) from None
            except requests.ConnectionError as exc:
                error = exc
                continue
            try:
                response._content = self._read(response, target, deadline)
            except requests.RequestException as exc:
                response.close()
                raise _connect_error(target, exc) from None
            except FetchError:
                response.close()
                raise
            response._content_consumed = True  # type: ignore[attr-defined]
            response.headers.pop("Content-Encoding", None)
            response.url = target.url
            response.request = request
            return response
        assert error is not None
        raise _connect_error(target, error)

    def _read(self, response: requests.Response, target: Target, deadline: float) -> bytes:
        decoder = BodyDecoder(
            response.headers.get("content-encoding"), target.url, self.policy, deadline
        )
        body = bytearray()
        for chunk in response.raw.stream(_CHUNK, decode_content=False):
            body += decoder.feed(chunk)
        body += decoder.flush()
        return bytes(body)


class _RedirectCheckingSession(requests.Session):
    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        # Called by requests for every redirect hop, before the hop is sent.
        check_redirect(response.url, prepared_request.url or "")
        super().rebuild_auth(prepared_request, response)


@dataclass
class GuardedSession:
    """A requests session for one verification, and the log of what it fetched."""

    session: requests.Session
    adapter: GuardedAdapter
    budget: FetchBudget = field(repr=False)

    @property
    def log(self) -> list[FetchRecord]:
        return self.adapter.log


def guarded_session(policy: FetchPolicy, budget: FetchBudget | None = None) -> GuardedSession:
    """A `requests.Session` whose every request, redirect hops included, goes through the guard.

    The adapter is mounted for every URL prefix, so a ``file://`` or ``ftp://`` URL reaches it
    and is refused with a clear error instead of requests' own.
    """
    budget = budget or policy.new_budget()
    adapter = GuardedAdapter(policy, budget)
    session = _RedirectCheckingSession()
    session.trust_env = False  # no proxies or .netrc from the environment
    session.max_redirects = policy.max_redirects
    session.adapters.clear()
    for prefix in ("https://", "http://", ""):
        session.mount(prefix, adapter)
    return GuardedSession(session, adapter, budget)
