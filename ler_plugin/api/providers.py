"""Providers in GraphQL: a provider reads who it is; a district admin lists the district's."""

from __future__ import annotations

import strawberry

from ler_plugin.api.context import Info
from ler_plugin.principal import Role
from ler_plugin.providers import service as providers


@strawberry.type
class Provider:
    id: strawberry.ID
    name: str
    credit_unit: str | None
    active: bool
    issuers: list[str]


@strawberry.type
class ProviderQuery:
    @strawberry.field(description="The signed-in provider: its name and registered issuers.")
    async def provider(self, info: Info) -> Provider:
        acting = await providers.authorise(
            session=info.context.session, principal=info.context.need_principal()
        )
        return Provider(
            id=strawberry.ID(str(acting.id)),
            name=acting.name,
            credit_unit=acting.credit_unit,
            active=True,
            issuers=sorted(acting.issuers),
        )

    @strawberry.field(description="The district's PD providers (district admins).")
    async def providers(self, info: Info) -> list[Provider]:
        principal = info.context.need_principal()
        principal.require(Role.DISTRICT_ADMIN)
        if principal.district_id is None:
            return []
        found = await providers.list_providers(
            session=info.context.session, principal=principal, district_id=principal.district_id
        )
        return [
            Provider(
                id=strawberry.ID(str(p.id)),
                name=p.name,
                credit_unit=p.credit_unit,
                active=p.approved,
                issuers=p.issuers,
            )
            for p in found
        ]
