"""The GraphQL schema: each room contributes its fields; this module only assembles them."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from ler_plugin.api.context import Info
from ler_plugin.api.errors import mask_errors


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

    wallet: Wallet = strawberry.field(
        resolver=my_wallet, description="The signed-in teacher's own wallet."
    )


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
