"""Persisted operations: the published client operations, asked for by their SHA-256.

`graphql/operations/*.graphql` are the operations real clients send. A client may send
``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}`` (Apollo's APQ
form) without a ``query``; the hash is of the file's bytes as stored. In production only the
roles in `Settings.arbitrary_operation_roles` may send a free-form ``query``: everyone else runs
the published operations, so an attacker cannot craft new shapes of request.
`manifest.json` beside the files publishes the hashes (Apollo's persisted query manifest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse
from ler_plugin.errors import LerError

OPERATIONS_DIR = Path(__file__).resolve().parents[2] / "graphql" / "operations"
MANIFEST_NAME = "manifest.json"


class PersistedError(LerError):
    pass


@dataclass(frozen=True)
class Operation:
    file: str
    sha256: str
    body: str


def load_operations(directory: Path = OPERATIONS_DIR) -> dict[str, Operation]:
    """Every `*.graphql` file in `directory`, keyed by the SHA-256 of its bytes."""
    found: dict[str, Operation] = {}
    for path in sorted(directory.glob("*.graphql")):
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        found[digest] = Operation(file=path.name, sha256=digest, body=raw.decode("utf-8"))
    return found


@cache
def published() -> dict[str, Operation]:
    """The operations as they were when the process started."""
    return load_operations()


def manifest(operations: Mapping[str, Operation]) -> dict[str, Any]:
    entries = []
    for op in sorted(operations.values(), key=lambda o: o.file):
        for definition in parse(op.body).definitions:
            if isinstance(definition, OperationDefinitionNode):
                entries.append(
                    {
                        "id": op.sha256,
                        "file": op.file,
                        "name": definition.name.value if definition.name else None,
                        "type": definition.operation.value,
                    }
                )
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": entries}


def manifest_text(operations: Mapping[str, Operation]) -> str:
    return json.dumps(manifest(operations), indent=2) + "\n"


def write_manifest(directory: Path = OPERATIONS_DIR) -> Path:
    target = directory / MANIFEST_NAME
    target.write_text(manifest_text(load_operations(directory)))
    return target


def resolve(
    query: str | None,
    extensions: Mapping[str, Any] | None,
    roles: frozenset[str],
    allowed_roles: frozenset[str],
) -> str:
    """The query text to run: the published operation a hash names, or the free-form `query`
    when the asker's roles allow it."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is not None:
        if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
            raise PersistedError(
                "persisted_query_bad_request",
                'persistedQuery must be {"version": 1, "sha256Hash": "<hex>"}',
            )
        operation = published().get(str(persisted.get("sha256Hash", "")).lower())
        if operation is None:
            raise PersistedError(
                "persisted_query_not_found",
                "no published operation has that sha256Hash: see graphql/operations/manifest.json",
            )
        if query is not None and query != operation.body:
            raise PersistedError(
                "persisted_query_mismatch", "the query sent is not the one its hash names"
            )
        return operation.body
    if query is None:
        raise PersistedError("bad_request", "send a `query` or a persistedQuery extension")
    if "*" not in allowed_roles and not roles & allowed_roles:
        raise PersistedError(
            "arbitrary_operation_refused",
            "this server runs only its published operations for you (send their "
            "persistedQuery hash); free-form queries and introspection need one of the roles: "
            + ", ".join(sorted(allowed_roles)),
            status=403,
        )
    return query
