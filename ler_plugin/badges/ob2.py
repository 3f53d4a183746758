"""Open Badges 2.0 (and upgraded 0.5 / 1.0 / 1.1) verification with badgecheck.

badgecheck (module `openbadges`) does the graph work: fetch assertion, badge class, issuer
and key, compact them as JSON-LD, validate every property, check the JWS signature and key
ownership. Around it we make three things right:

1. **Nothing it fetches escapes our guard.** `openbadges.verify()` replaces any document loader
   it is given, so we drive `verification_store()` + `generate_report()` ourselves with
   `_ShippedContexts` (every JSON-LD context and extension schema from files we ship: no
   verification ever asks w3id.org for anything). Its graph and image tasks build their own
   `requests` sessions (no timeout, no size cap, redirects followed blindly) and its extension
   task lets jsonschema fetch remote ``$ref`` with urllib: `_route_badgecheck_io_through_guard`
   swaps those module references once, at import, for stand-ins that hand out the guarded
   session of the verification in progress, and validate schemas without remote references.
2. **Its verdict is corrected where it is wrong** (each case has a test):
   - an assertion with ``revoked: true`` passes badgecheck; here it is revoked;
   - a revocation list with a single entry is compacted to a bare value, which badgecheck
     iterates character by character and so never finds the assertion; entries naming the
     assertion by ``uid`` are not matched either; here both are revoked;
   - an HTTP 404 or 410 is reported as "unknown Content-Type" (or, with a JSON error body, as
     missing properties of an assertion); here it is `not_found` or `gone` (410 means the
     issuer withdrew it: revoked);
   - a refused fetch surfaces as a Python exception text; here it is `fetch_blocked` with the
     guard's message;
   - images: an image with no Content-Type is "could not fetch", an SVG with more than 1 KB
     before ``<svg`` or anything after ``</svg>`` is "unsupported", an unknown file type
     crashes the task (``ValueError(...).format``); here the image bytes are checked again
     (PNG signature, or an SVG root element) and a good image is not an error.
3. **Our own checks**: expiry against the clock, the recipient against the identities the
   caller expects (plain or hashed, sha256 or md5, salted, e-mail case-insensitive), and the
   JWS algorithm (RS256 only, as the specification says).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import jsonschema
import referencing
import referencing.exceptions
import requests

from ler_plugin.badges import jsonld
from ler_plugin.badges.parse import PNG_SIGNATURE, BadgeInput
from ler_plugin.badges.report import (
    BadgeClassSummary,
    IssuerSummary,
    RecipientSummary,
    VerificationReport,
)
from ler_plugin.fetch import FetchError, FetchPolicy, FetchRecord, GuardedSession, guarded_session

_session_in_use: ContextVar[requests.Session | None] = ContextVar("ob2_session", default=None)


class _GuardedRequests:
    """Stands in for the `requests` module inside badgecheck's graph and image tasks.

    `Session()` is the guarded session of the verification running in this context; outside
    `verify_ob2` there is none and badgecheck may fetch nothing at all.
    """

    ConnectionError = requests.ConnectionError
    HTTPError = requests.HTTPError
    exceptions = requests.exceptions

    @staticmethod
    def Session() -> requests.Session:
        session = _session_in_use.get()
        if session is None:
            raise RuntimeError("badgecheck may only fetch inside verify_ob2 (guarded session)")
        return session


def _refuse_remote_schema(uri: str) -> referencing.Resource[Any]:
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


class _LocalJsonSchema:
    """Stands in for `jsonschema` inside badgecheck's extension task: remote ``$ref`` is
    refused instead of fetched with urllib (the official schemas have only local refs)."""

    ValidationError = jsonschema.ValidationError

    @staticmethod
    def validate(instance: Any, schema: dict[str, Any]) -> None:
        validator = jsonschema.validators.validator_for(schema)
        registry: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse_remote_schema)  # type: ignore[call-arg]
        validator(schema, registry=registry).validate(instance)


class _PemKeys:
    """Stands in for pycryptodome's `RSA` inside badgecheck's signature task.

    badgecheck hands python-jose a pycryptodome key object, which python-jose's cryptography
    backend cannot read ("Unable to parse an RSA_JWK"): every signed badge fails, and the tasks
    it would queue next (key ownership, revocation list) never run. python-jose reads the PEM
    text itself, so "importing" a key is handing the PEM on.
    """

    @staticmethod
    def import_key(pem: str) -> str:
        return pem


def _route_badgecheck_io_through_guard() -> None:
    """badgecheck takes no session, schema resolver or key reader as options, so its modules'
    own references are replaced, once, by the stand-ins above.

    Its module-level fallback loader (``jsonld_use_cache``: a requests-cache session fetching
    w3id.org, and a PyLD 1 signature that PyLD 2 cannot call) is replaced too: the extension
    task passes its options to the wrong function and so always falls back to it.
    """
    from openbadges.verifier.tasks import crypto, extensions, graph, images, input

    graph.requests = _GuardedRequests
    images.requests = _GuardedRequests
    extensions.jsonschema = _LocalJsonSchema
    crypto.RSA = _PemKeys
    for module in (extensions, graph, input):
        module.jsonld_use_cache = {"documentLoader": _ShippedContexts()}


def _shipped_schemas() -> dict[str, dict[str, Any]]:
    """Each shipped extension's schema under every URL its shipped context names for it."""
    schemas: dict[str, dict[str, Any]] = {}
    for ext in sorted((jsonld.CONTEXTS / "ob2" / "extensions").iterdir()):
        context = json.loads((ext / "context.json").read_text())
        schema = json.loads((ext / "schema.json").read_text())
        entries = context.get("obi:validation", [])
        for entry in entries if isinstance(entries, list) else [entries]:
            schemas[entry["obi:validationSchema"]] = schema
    return schemas


_SCHEMAS = _shipped_schemas()


def _shipped_url(url: str) -> str:
    # Extension contexts are published under both hosts; we ship them under w3id.org's name.
    return re.sub(
        r"^https?://openbadgespec\.org/extensions/", "https://w3id.org/openbadges/extensions/", url
    )


class _ShippedResponse:
    def __init__(self, url: str) -> None:
        self.url = url

    def json(self) -> Any:
        if self.url in _SCHEMAS:
            return _SCHEMAS[self.url]
        try:
            return jsonld.document(_shipped_url(self.url))
        except jsonld.UnknownContext:
            # badgecheck's extension task treats TypeError as "could not load this document".
            raise TypeError(f"no shipped copy of {self.url}") from None


class _ShippedFiles:
    """The `session` badgecheck's extension task reads extension contexts and schemas from."""

    def get(self, url: str, headers: Any = None) -> _ShippedResponse:
        return _ShippedResponse(url)


class _ShippedContexts:
    """A PyLD document loader for badgecheck: shipped documents only.

    Like badgecheck's own loader it notes which loaded documents define terms (`contexts`):
    that is how badgecheck finds extension contexts to validate.
    """

    def __init__(self) -> None:
        self.contexts: set[str] = set()
        self.session = _ShippedFiles()

    def __call__(self, url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        doc = jsonld.load_document(_shipped_url(url), options)
        context = doc["document"].get("@context")
        if any(isinstance(c, dict) for c in (context if isinstance(context, list) else [context])):
            self.contexts.add(url)
        return {**doc, "documentUrl": url}


_route_badgecheck_io_through_guard()


# --- running badgecheck ------------------------------------------------------------------------


@contextmanager
def _guarded(session: requests.Session) -> Iterator[None]:
    token = _session_in_use.set(session)
    try:
        yield
    finally:
        _session_in_use.reset(token)


def _badgecheck_input(badge: BadgeInput) -> str:
    if badge.kind == "url" and badge.url:
        return badge.url
    if badge.kind == "jws" and badge.jws:
        return badge.jws
    return json.dumps(badge.data)


def run_badgecheck(badge: BadgeInput, policy: FetchPolicy) -> tuple[dict[str, Any], GuardedSession]:
    """badgecheck's result for `badge`, fetching only through the guard, and the guarded
    session it used (its log says what was fetched; its budget is the verification's)."""
    from openbadges.verifier.verifier import DEFAULT_OPTIONS, generate_report, verification_store

    guarded = guarded_session(policy)
    options = {
        **DEFAULT_OPTIONS,
        "include_original_json": True,
        "use_cache": False,  # requests-cache 1.x breaks badgecheck's cache use
        "cache_backend": None,
        "jsonld_options": {"documentLoader": _ShippedContexts()},
    }
    with _guarded(guarded.session):
        store = verification_store(_badgecheck_input(badge), options=options)
        result: dict[str, Any] = generate_report(store, options=options)
    return result, guarded


# --- reading the verdict -----------------------------------------------------------------------

# badgecheck task name -> our stable code for its failure.
_TASK_CODES = {
    "DETECT_INPUT_TYPE": "invalid_input",
    "REPORT_MESSAGE": "invalid_input",
    "PROCESS_BAKED_RESOURCE": "no_badge_in_image",
    "FETCH_HTTP_NODE": "fetch_failed",
    "INTAKE_JSON": "invalid_json",
    "JSONLD_COMPACT_DATA": "invalid_jsonld",
    "PROCESS_JWS_INPUT": "bad_signature",
    "VERIFY_JWS": "bad_signature",
    "VERIFY_KEY_OWNERSHIP": "key_not_authorized",
    "VERIFY_SIGNED_ASSERTION_NOT_REVOKED": "revoked",
    "HOSTED_ID_IN_VERIFICATION_SCOPE": "verification_scope",
    "VERIFY_RECIPIENT_IDENTIFIER": "recipient_mismatch",
    "ASSERTION_TIMESTAMP_CHECKS": "invalid_dates",
    "IMAGE_VALIDATION": "invalid_image",
    "VALIDATE_EXTENSION_NODE": "extension_invalid",
    "VALIDATE_EXTENSION_SINGLE": "extension_invalid",
}
# Failures we decide ourselves (below) instead of taking badgecheck's word.
_DECIDED_HERE = {"VERIFY_SIGNED_ASSERTION_NOT_REVOKED", "ASSERTION_TIMESTAMP_CHECKS"}

_CHECKS = {
    "url": ["fetched the hosted assertion", "hosted origin matches the issuer"],
    "json": ["fetched the hosted assertion", "hosted origin matches the issuer"],
    "jws": ["signature", "signing key belongs to the issuer", "revocation list"],
}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _node(graph: list[dict[str, Any]], ref: Any) -> dict[str, Any]:
    if isinstance(ref, dict):
        return ref
    for node in graph:
        if node.get("id") == ref:
            return node
    return {}


def _id_of(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _criteria(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return value.get("id") or value.get("narrative")
    return value if isinstance(value, str) else None


def _summaries(
    report: VerificationReport, graph: list[dict[str, Any]], subject: Any
) -> dict[str, Any]:
    assertion = _node(graph, subject) if subject else {}
    if assertion.get("type") != "Assertion":
        assertion = next((n for n in graph if n.get("type") == "Assertion"), {})
    badge_class = _node(graph, assertion.get("badge"))
    issuer = _node(graph, badge_class.get("issuer"))
    recipient = _node(graph, assertion.get("recipient"))
    report.assertion_id = assertion.get("id")
    report.issued_on = _when(assertion.get("issuedOn"))
    report.expires_at = _when(assertion.get("expires"))
    report.issuer = IssuerSummary(
        id=issuer.get("id"), name=issuer.get("name"), url=issuer.get("url")
    )
    report.badge_class = BadgeClassSummary(
        id=badge_class.get("id"),
        name=badge_class.get("name"),
        description=badge_class.get("description"),
        image=_id_of(badge_class.get("image")),
        criteria=_criteria(badge_class.get("criteria")),
        tags=[t for t in _as_list(badge_class.get("tags")) if isinstance(t, str)],
        alignments=[_node(graph, a) for a in _as_list(badge_class.get("alignment"))],
    )
    report.recipient = RecipientSummary(
        identity=recipient.get("identity"),
        type=recipient.get("type"),
        hashed=bool(recipient.get("hashed")),
        salt=recipient.get("salt"),
    )
    report.raw = {k: v for k, v in assertion.items()} or None
    return assertion


_CRASH = re.compile(r"^<class '(?:[\w.]+\.)?(\w+)'>")


_NO_LOCAL_COPY = re.compile(r"no local copy of ([^\s'\"\\]+)")


def _readable(task: str | None, text: str) -> str:
    """badgecheck reports a task that crashed as a Python exception dump: say it plainly."""
    crash = _CRASH.match(text)
    if crash is None:
        return text
    unknown = _NO_LOCAL_COPY.search(text)
    if unknown:
        return (
            f"the badge uses a JSON-LD context this server does not know ({unknown.group(1)}); "
            "only the Open Badges contexts and official extensions are accepted"
        )
    what = (task or "a check").lower().replace("_", " ")
    return f"the badge could not be checked: {what} failed ({crash.group(1)})"


def _fetch_failures(
    report: VerificationReport, log: list[FetchRecord], subject: str | None
) -> bool:
    """Our reading of what went wrong fetching; True when the assertion itself was not had."""
    assertion_lost = False
    seen: set[str] = set()
    for record in log:
        if record.url in seen:
            continue
        is_subject = record.url == subject
        what = "the badge assertion" if is_subject else record.url
        if record.error is not None:
            seen.add(record.url)
            code = "fetch_blocked" if record.error.code.startswith("blocked") else "fetch_failed"
            if record.error.code in ("too_large", "timeout", "budget_exhausted"):
                code = record.error.code if record.error.code != "timeout" else "fetch_timeout"
            report.fail(code, record.error.message)
            assertion_lost |= is_subject
        elif record.status is not None and record.status >= 400:
            seen.add(record.url)
            if record.status == 410:
                report.revoked = report.revoked or is_subject
                report.fail("gone", f"{what} is gone (HTTP 410): the issuer has withdrawn it")
            elif record.status == 404:
                where = f" at {record.url}" if is_subject else ""
                report.fail("not_found", f"{what} was not found (HTTP 404){where}")
            else:
                report.fail("http_error", f"{what} could not be fetched (HTTP {record.status})")
            assertion_lost |= is_subject
    return assertion_lost


def _is_good_image(content: bytes) -> bool:
    if content.startswith(PNG_SIGNATURE):
        return True
    try:
        # No DTD allowed, so no entity expansion (see parse.py).
        if re.search(rb"<!\s*(DOCTYPE|ENTITY)", content, re.IGNORECASE):
            return False
        root = ElementTree.fromstring(content)  # noqa: S314
    except ElementTree.ParseError:
        return False
    return str(root.tag).rsplit("}", 1)[-1] == "svg"


def _image_failure(
    message: dict[str, Any], graph: list[dict[str, Any]], session: requests.Session
) -> str | None:
    """Our message for a failed image check, or None when the image is in fact fine."""
    node = _node(graph, message.get("node_id")) if message.get("node_id") else {}
    url = _id_of(node.get(message.get("prop_name") or "image"))
    if not url or not url.startswith("http"):
        return message.get("result") or "the image is not valid"
    try:
        response = session.get(url, headers={"Accept": "image/png, image/svg+xml"})
    except FetchError as exc:
        return exc.message
    if response.status_code >= 400:
        return f"the image at {url} could not be fetched (HTTP {response.status_code})"
    if _is_good_image(response.content):
        return None
    return f"the image at {url} is not a PNG or SVG image"


def _revocation_entries_matching(
    revocation_list: dict[str, Any], assertion: dict[str, Any]
) -> list[Any]:
    names = {assertion.get("id"), assertion.get("uid")} - {None}
    found: list[Any] = []
    for entry in _as_list(revocation_list.get("revokedAssertions")):
        if isinstance(entry, str) and entry in names:
            found.append(entry)
        elif isinstance(entry, dict) and ({entry.get("id"), entry.get("uid")} & names):
            found.append(entry)
    return found


def _original(result: dict[str, Any], url: Any) -> dict[str, Any]:
    """A fetched document as the issuer published it (badgecheck rewrites its graph copy)."""
    text = result.get("input", {}).get("original_json", {}).get(url)
    try:
        data = json.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _check_revocation(
    report: VerificationReport,
    result: dict[str, Any],
    assertion: dict[str, Any],
    signed: bool,
) -> None:
    if assertion.get("revoked") is True:
        reason = assertion.get("revocationReason")
        report.revoked = True
        report.fail(
            "revoked", "the issuer has revoked this badge" + (f": {reason}" if reason else "")
        )
        return
    if not signed:
        return
    graph = result.get("graph", [])
    issuer = _node(graph, _node(graph, assertion.get("badge")).get("issuer"))
    list_url = issuer.get("revocationList")
    if not list_url:
        return
    revocation_list = _original(result, list_url)
    if not revocation_list:
        report.fail(
            "revocation_unchecked", f"the issuer's revocation list ({list_url}) could not be read"
        )
        return
    matches = _revocation_entries_matching(revocation_list, assertion)
    if matches:
        reasons = [
            m["revocationReason"]
            for m in matches
            if isinstance(m, dict) and m.get("revocationReason")
        ]
        report.revoked = True
        report.fail(
            "revoked",
            "the issuer's revocation list revokes this badge"
            + (f": {reasons[0]}" if reasons else ""),
        )


def _identity_hash(identity: str, salt: str, alg: str) -> str:
    data = (identity + salt).encode()
    digest = hashlib.sha256(data) if alg == "sha256" else hashlib.md5(data, usedforsecurity=False)
    return digest.hexdigest()


def recipient_matches(recipient: dict[str, Any], identities: list[str]) -> bool:
    """Whether the assertion's recipient is one of `identities` (plain or hashed)."""
    value = recipient.get("identity")
    if not isinstance(value, str):
        return False
    kind = recipient.get("type")
    salt = recipient.get("salt") or ""
    candidates = set(identities)
    if kind == "email" or "@" in value or not recipient.get("hashed"):
        # E-mail addresses are compared case-insensitively; issuers hash them as typed or lowered.
        candidates |= {i.lower() for i in identities}
    if not recipient.get("hashed"):
        folded = value.lower() if kind == "email" else value
        return folded in {c.lower() if kind == "email" else c for c in candidates}
    alg, sep, digest = value.partition("$")
    alg = alg.lower()
    if not sep or alg not in ("sha256", "md5"):
        return False
    return any(_identity_hash(c, salt, alg) == digest.lower() for c in candidates)


def _jws_alg(token: str) -> str | None:
    import base64

    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return None
    return header.get("alg") if isinstance(header, dict) else None


def verify_ob2(
    badge_input: BadgeInput,
    *,
    policy: FetchPolicy,
    recipient_identities: list[str] | None = None,
    now: datetime | None = None,
) -> VerificationReport:
    """Verify an OB 2.0 (or 0.5/1.x) badge. Every failure is in the report, never raised.

    Synchronous and blocking (it fetches): callers in async code run it in a thread.
    """
    now = now or datetime.now(UTC)
    report = VerificationReport(valid=True, format="ob2", checked_at=now)
    if badge_input.format != "ob2":
        report.fail("unsupported_format", f"this is an {badge_input.format} credential, not OB 2.0")
        return report
    signed = badge_input.kind == "jws"
    if signed and _jws_alg(badge_input.jws or "") != "RS256":
        report.fail("bad_signature", "the signed badge does not use the RS256 algorithm")
        return report
    try:
        result, guarded = run_badgecheck(badge_input, policy)
    except Exception as exc:  # badgecheck failing outside a task: say so, plainly
        report.fail(
            "verifier_error", f"the badge could not be checked ({type(exc).__name__}: {exc})"
        )
        return report

    graph = result.get("graph", [])
    subject = result.get("report", {}).get("validationSubject")
    report.checks = [
        "JSON-LD structure and required properties",
        *_CHECKS.get(badge_input.kind, []),
        "expiry",
    ]
    if recipient_identities is not None:
        report.checks.append("recipient")

    log = guarded.log
    assertion_lost = _fetch_failures(report, log, subject)
    if assertion_lost:
        return report
    assertion = _summaries(report, graph, subject)
    # The assertion as the issuer published it (or signed it), not badgecheck's compacted copy.
    signed_payload = badge_input.data if signed else None
    report.raw = _original(result, report.assertion_id) or signed_payload or report.raw
    # With its BadgeClass embedded as published: what a badge is worth (the PD-credit
    # extension) is stated on the BadgeClass as often as on the assertion.
    badge_class = _original(result, report.badge_class.id)
    if report.raw and isinstance(report.raw.get("badge"), str) and badge_class:
        report.raw = {**report.raw, "badge": badge_class}

    fetch_failed_urls = {r.url for r in log if r.error is not None or (r.status or 0) >= 400}
    for message in result.get("report", {}).get("messages", []):
        level, name, text = (
            message.get("messageLevel"),
            message.get("name"),
            message.get("result") or "",
        )
        if level == "WARNING":
            report.warn("badgecheck_warning", text)
            continue
        if level != "ERROR" or name in _DECIDED_HERE:
            continue
        if any(u in text for u in fetch_failed_urls):
            continue  # a failed fetch, already explained above
        if "FetchError" in text:
            continue  # the guard refused a fetch: reported above with its own message
        if message.get("prop_name") == "publicKey" and "more than the single" in text:
            continue  # the specification allows several keys ("the key(s)"): key rotation
        if name == "IMAGE_VALIDATION":
            problem = _image_failure(message, graph, guarded.session)
            if problem is not None:
                report.fail("invalid_image", problem)
            continue
        code = _TASK_CODES.get(name, "schema_invalid")
        if _NO_LOCAL_COPY.search(text):
            code = "unsupported_context"
        report.fail(code, _readable(name, text))

    if not assertion and not report.errors:
        report.fail("invalid_input", "no Open Badges assertion was found")
    if assertion:
        _check_revocation(report, result, assertion, signed)
        _check_dates(report, now)
        if recipient_identities is not None and not recipient_matches(
            _node(graph, assertion.get("recipient")), recipient_identities
        ):
            report.fail("recipient_mismatch", "the badge was awarded to someone else")
    return report


def _check_dates(report: VerificationReport, now: datetime) -> None:
    if report.issued_on is None:
        report.fail("invalid_dates", "the badge has no valid issue date (issuedOn)")
        return
    if report.issued_on > now:
        report.fail(
            "invalid_dates", f"the badge is dated in the future ({report.issued_on:%Y-%m-%d})"
        )
    if report.expires_at is not None:
        if report.expires_at < report.issued_on:
            report.fail("invalid_dates", "the badge expires before it was issued")
        elif report.expires_at < now:
            report.expired = True
            report.fail("expired", f"the badge expired on {report.expires_at:%Y-%m-%d}")
