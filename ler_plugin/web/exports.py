"""CSV downloads behind the signed links GraphQL hands out: `/exports/{kind}.csv?t=...`.

The link names the export; the session (cookie, bearer or ``session`` field) says who follows it,
and must be the person the link was made for. The body streams as it is read from the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ler_plugin.errors import LerError
from ler_plugin.principal import Principal
from ler_plugin.rollups import links, service, streams
from ler_plugin.rollups.errors import RollupError
from ler_plugin.web.session import principal_from_request


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _stream(link: links.ExportLink, session: Any, principal: Principal) -> AsyncIterator[str]:
    p = link.params
    if link.kind == "records":
        return streams.records_csv(
            session=session, principal=principal, district_id=link.district_id
        )
    if link.kind == "compliance":
        return streams.compliance_csv(
            session=session,
            principal=principal,
            district_id=link.district_id,
            on=_day(p.get("on")),
            school_id=p.get("school"),
            status=p.get("status"),
        )
    query = service.RollupQuery(
        by=service.parse_by(p.get("by") or []),
        date_from=_day(p.get("from")),
        date_to=_day(p.get("to")),
        schools=tuple(p.get("schools") or ()),
        categories=tuple(p.get("categories") or ()),
        providers=tuple(p.get("providers") or ()),
        statuses=tuple(p.get("statuses") or ()),
    )
    return streams.rollup_csv(
        session=session,
        principal=principal,
        district_id=link.district_id,
        query=query,
        min_teachers=int(p.get("min_teachers") or 0),
    )


def _error(error: LerError) -> JSONResponse:
    return JSONResponse({"error": error.code, "message": error.message}, status_code=error.status)


async def download(request: Request) -> Response:
    settings = request.app.state.settings
    found = principal_from_request(settings, request)
    if found is None:
        return _error(
            RollupError("not_signed_in", "sign in first: open the tool from your LMS", status=401)
        )
    if isinstance(found, LerError):
        return _error(found)
    kind = request.path_params["kind"]
    stack = AsyncExitStack()
    try:
        link = links.read(settings, request.query_params.get("t", ""), found)
        if link.kind != kind:
            raise RollupError("export_link_invalid", "this download link is for another export")
        session = await stack.enter_async_context(request.app.state.session_factory())
        await stack.enter_async_context(session.begin())
        rows = _stream(link, session, found)
        first = await anext(rows)  # the header, after the principal has been checked
    except LerError as exc:
        await stack.aclose()
        return _error(exc)
    except BaseException:
        await stack.aclose()
        raise

    async def body() -> AsyncIterator[str]:
        async with stack:
            yield first
            async for chunk in rows:
                yield chunk

    filename = f"{kind}-{dt.date.today().isoformat()}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def routes() -> list[Route]:
    return [Route("/exports/{kind:str}.csv", download, methods=["GET"])]
