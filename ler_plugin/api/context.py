"""What every resolver gets: the settings, the request's database session, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from ler_plugin.config import Settings
from ler_plugin.errors import LerError
from ler_plugin.principal import Principal


class NotSignedIn(LerError):
    status = 401


@dataclass
class Context:
    settings: Settings
    session: AsyncSession
    principal: Principal | None
    request: Request

    def need_principal(self) -> Principal:
        if self.principal is None:
            raise NotSignedIn(
                "not_signed_in", "sign in first: launch the tool from your LMS or use an API token"
            )
        return self.principal


Info = StrawberryInfo[Context, None]
