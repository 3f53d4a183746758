"""The GraphQL schema: each room contributes its query and mutation types; this module assembles them."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from ler_plugin.api.context import Info
from ler_plugin.api.errors import mask_errors
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
Query = merge_types("Query", (ViewerQuery, WalletQuery, RollupsQuery))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not incidents; `mask_errors` logs the unexpected ones."""


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        config=StrawberryConfig(auto_camel_case=True),
        extensions=[mask_errors],
    )


schema = build_schema()
