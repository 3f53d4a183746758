"""How failures reach a GraphQL client: our errors with their stable code, anything else masked.

A `LerError` is expected and explained; its code goes in ``extensions.code``. Anything else is a
bug: the client sees "internal error" and a request id, the log gets the stack trace.
"""

from __future__ import annotations

import logging

from strawberry.extensions import MaskErrors

from graphql import GraphQLError
from ler_plugin.errors import LerError

log = logging.getLogger("ler_plugin.api")


def _is_visible(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return True  # syntax and validation errors from graphql-core: safe and useful
    if isinstance(original, LerError):
        error.extensions = {**(error.extensions or {}), "code": original.code}
        error.message = original.message
        return True
    log.error("unexpected error in GraphQL resolver", exc_info=original)
    return False


def mask_errors() -> MaskErrors:
    return MaskErrors(
        should_mask_error=lambda e: not _is_visible(e), error_message="internal error"
    )
