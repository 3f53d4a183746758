"""The GraphQL schema: each room contributes its query and mutation types; this module assembles them."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from ler_plugin.api.audit import AuditQuery
from ler_plugin.api.badges import BadgeMutation, BadgeQuery
from ler_plugin.api.context import Info
from ler_plugin.api.errors import mask_errors
from ler_plugin.api.limits import limit_extensions
from ler_plugin.api.providers import ProviderQuery
from ler_plugin.api.rollups import RollupsQuery
from ler_plugin.api.wallet import WalletQuery


@strawberry.type
class Viewer:
    roles: list[str]
    district_id: strawberry.ID | None


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="Who is asking, as this server sees them.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.need_principal()
        return Viewer(
            roles=sorted(r.value for r in principal.roles),
            district_id=strawberry.ID(str(principal.district_id))
            if principal.district_id
            else None,
        )


# Each room contributes a query (and mutation) type: add yours to the tuple.
Query = merge_types(
    "Query", (ViewerQuery, WalletQuery, BadgeQuery, ProviderQuery, RollupsQuery, AuditQuery)
)
Mutation = merge_types("Mutation", (BadgeMutation,))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not incidents; `mask_errors` logs the unexpected ones."""


def build_schema(*, production: bool = False) -> strawberry.Schema:
    """Production turns off introspection and "did you mean" suggestions (they map the schema)."""
    extensions: list[Any] = [*limit_extensions(), mask_errors]
    if production:
        extensions.insert(0, DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(auto_camel_case=True, disable_field_suggestions=production),
        extensions=extensions,
    )


schema = build_schema()
production_schema = build_schema(production=True)
