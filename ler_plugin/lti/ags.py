"""Assignment and Grade Services: the PD-credit column in the LMS gradebook, and scores into it.

A facilitator's award puts a score per attendee in the course's gradebook, so the LMS shows
completion where teachers and principals already look. Line items are found by our
``resourceId`` (one column per PD activity), created when missing, and scores are posted one
member at a time, as the spec and Moodle require, with every field Moodle insists on.
URLs come from the launch's AGS claim; the scores and results URLs are the line item URL with
``/scores`` or ``/results`` added to its path, its query kept (Moodle puts ``type_id`` there).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from ler_plugin.lti.errors import LtiServiceError
from ler_plugin.lti.services import (
    SCOPE_LINEITEM,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    ServiceAccess,
    json_answer,
    json_number,
)

LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"
MAX_PAGES = 1000


class ActivityProgress(enum.StrEnum):
    INITIALIZED = "Initialized"
    STARTED = "Started"
    IN_PROGRESS = "InProgress"
    SUBMITTED = "Submitted"
    COMPLETED = "Completed"


class GradingProgress(enum.StrEnum):
    FULLY_GRADED = "FullyGraded"
    PENDING = "Pending"
    PENDING_MANUAL = "PendingManual"
    FAILED = "Failed"
    NOT_READY = "NotReady"


@dataclass(frozen=True)
class NewLineItem:
    label: str
    score_maximum: Decimal
    resource_id: str | None = None
    resource_link_id: str | None = None
    tag: str | None = None


@dataclass(frozen=True, kw_only=True)
class LineItem(NewLineItem):
    """A line item as the platform keeps it: what we asked for, and the URL that is its id."""

    id: str


@dataclass(frozen=True)
class Score:
    user_id: str
    score_given: Decimal
    score_maximum: Decimal
    timestamp: dt.datetime
    activity_progress: ActivityProgress = ActivityProgress.COMPLETED
    grading_progress: GradingProgress = GradingProgress.FULLY_GRADED
    comment: str | None = None


@dataclass(frozen=True)
class Result:
    user_id: str
    result_score: Decimal | None
    result_maximum: Decimal | None
    comment: str | None


async def list_line_items(
    access: ServiceAccess,
    lineitems_url: str,
    *,
    resource_id: str | None = None,
    resource_link_id: str | None = None,
    tag: str | None = None,
) -> list[LineItem]:
    """The line items of the context, filtered by the platform on the fields given."""
    filters = {
        "resource_id": resource_id,
        "resource_link_id": resource_link_id,
        "tag": tag,
    }
    url = str(httpx.URL(lineitems_url).copy_merge_params({k: v for k, v in filters.items() if v}))
    items: list[LineItem] = []
    async for response in access.pages(
        url,
        scopes=[SCOPE_LINEITEM],
        accept=LINEITEM_CONTAINER,
        what="the line items service",
        max_pages=MAX_PAGES,
        loop_code="lti_ags_paging_loop",
    ):
        body = json_answer(response, "the line items service", list)
        items.extend(_line_item(entry, lineitems_url) for entry in body)
    # Some platforms ignore the filter parameters; filter again so callers can rely on them.
    return [
        item
        for item in items
        if (resource_id is None or item.resource_id == resource_id)
        and (resource_link_id is None or item.resource_link_id == resource_link_id)
        and (tag is None or item.tag == tag)
    ]


async def find_line_item(
    access: ServiceAccess, lineitems_url: str, *, resource_id: str, tag: str | None = None
) -> LineItem | None:
    found = await list_line_items(access, lineitems_url, resource_id=resource_id, tag=tag)
    return found[0] if found else None


async def create_line_item(access: ServiceAccess, lineitems_url: str, new: NewLineItem) -> LineItem:
    if not new.label.strip():
        raise LtiServiceError("lti_ags_bad_line_item", "a line item needs a label")
    if new.score_maximum <= 0:
        raise LtiServiceError("lti_ags_bad_line_item", "a line item's scoreMaximum must be above 0")
    body: dict[str, Any] = {"label": new.label, "scoreMaximum": json_number(new.score_maximum)}
    if new.resource_id:
        body["resourceId"] = new.resource_id
    if new.resource_link_id:
        body["resourceLinkId"] = new.resource_link_id
    if new.tag:
        body["tag"] = new.tag
    response = await access.request(
        "POST",
        lineitems_url,
        scopes=[SCOPE_LINEITEM],
        accept=LINEITEM,
        content_type=LINEITEM,
        json_body=body,
        what="the line items service",
    )
    return _line_item(json_answer(response, "the line items service", dict), lineitems_url)


async def ensure_line_item(access: ServiceAccess, lineitems_url: str, new: NewLineItem) -> LineItem:
    """The line item with this resourceId, created when the course has none yet."""
    if new.resource_id:
        found = await find_line_item(
            access, lineitems_url, resource_id=new.resource_id, tag=new.tag
        )
        if found:
            return found
    return await create_line_item(access, lineitems_url, new)


def score_body(score: Score) -> dict[str, Any]:
    """The score as Moodle accepts it: all of userId, scoreGiven, scoreMaximum, both progress
    fields and a timestamp with its timezone offset."""
    if not score.user_id:
        raise LtiServiceError("lti_ags_bad_score", "a score needs the member's userId")
    if score.score_maximum <= 0:
        raise LtiServiceError("lti_ags_bad_score", "scoreMaximum must be above 0")
    if score.score_given < 0:
        raise LtiServiceError("lti_ags_bad_score", "scoreGiven cannot be negative")
    if score.timestamp.tzinfo is None or score.timestamp.utcoffset() is None:
        raise LtiServiceError("lti_ags_bad_score", "the score's timestamp needs a timezone")
    body: dict[str, Any] = {
        "userId": score.user_id,
        "scoreGiven": json_number(score.score_given),
        "scoreMaximum": json_number(score.score_maximum),
        "activityProgress": score.activity_progress.value,
        "gradingProgress": score.grading_progress.value,
        "timestamp": score.timestamp.isoformat(timespec="milliseconds"),
    }
    if score.comment:
        body["comment"] = score.comment
    return body


async def post_score(access: ServiceAccess, lineitem_url: str, score: Score) -> None:
    await access.request(
        "POST",
        service_url(lineitem_url, "scores"),
        scopes=[SCOPE_SCORE],
        accept="application/json",
        content_type=SCORE,
        json_body=score_body(score),
        what="the scores service",
    )


@dataclass(frozen=True)
class ScoreFailure:
    user_id: str
    error: LtiServiceError


# Refusals about one member (left the course, bad value); anything else would fail them all.
_PER_MEMBER = frozenset({"lti_service_rejected", "lti_service_not_found", "lti_ags_bad_score"})


async def post_scores(
    access: ServiceAccess, lineitem_url: str, scores: Iterable[Score]
) -> list[ScoreFailure]:
    """Post each score on its own, as the spec asks; a member the platform refuses does not
    stop the others, while a failure that would hit everyone (token, scope, outage) does."""
    failures = []
    for score in scores:
        try:
            await post_score(access, lineitem_url, score)
        except LtiServiceError as exc:
            if exc.code not in _PER_MEMBER:
                raise
            failures.append(ScoreFailure(score.user_id, exc))
    return failures


async def read_results(
    access: ServiceAccess, lineitem_url: str, *, user_id: str | None = None
) -> list[Result]:
    url = str(
        httpx.URL(service_url(lineitem_url, "results")).copy_merge_params(
            {"user_id": user_id} if user_id else {}
        )
    )
    results: list[Result] = []
    async for response in access.pages(
        url,
        scopes=[SCOPE_RESULT_READONLY],
        accept=RESULT_CONTAINER,
        what="the results service",
        max_pages=MAX_PAGES,
        loop_code="lti_ags_paging_loop",
    ):
        for entry in json_answer(response, "the results service", list):
            if not isinstance(entry, dict) or not entry.get("userId"):
                raise LtiServiceError(
                    "lti_service_bad_response", f"a result at {response.request.url} has no userId"
                )
            results.append(
                Result(
                    user_id=str(entry["userId"]),
                    result_score=_decimal(entry.get("resultScore")),
                    result_maximum=_decimal(entry.get("resultMaximum")),
                    comment=entry.get("comment") or None,
                )
            )
    return results


def service_url(lineitem_url: str, service: str) -> str:
    """``<lineitem path>/scores`` with the line item URL's query kept, as the spec requires."""
    url = httpx.URL(lineitem_url)
    return str(url.copy_with(path=url.path.rstrip("/") + "/" + service))


def _line_item(entry: Any, where: str) -> LineItem:
    if not isinstance(entry, dict) or not entry.get("id"):
        raise LtiServiceError("lti_service_bad_response", f"a line item from {where} has no id")
    maximum = _decimal(entry.get("scoreMaximum"))
    return LineItem(
        id=str(entry["id"]),
        label=str(entry.get("label") or ""),
        score_maximum=maximum if maximum is not None else Decimal(0),
        resource_id=entry.get("resourceId") or None,
        resource_link_id=entry.get("resourceLinkId") or None,
        tag=entry.get("tag") or None,
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None
