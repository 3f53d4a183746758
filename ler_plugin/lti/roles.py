"""LTI role URIs -> our roles, and the page a launch lands on.

Context roles (what the person is in this course) decide first; institution roles come next.
Everyone who launches is also a teacher with a wallet.
"""

from __future__ import annotations

from collections.abc import Iterable

from ler_plugin.principal import Role

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"

# Context roles that run a PD course: they see the roster and award credit.
FACILITATING = frozenset({"Instructor", "TeachingAssistant", "ContentDeveloper"})
LEARNING = frozenset({"Learner"})
ADMINISTERING = frozenset({"Administrator"})


def _context_role(uri: str) -> str | None:
    """`membership#Instructor`, `membership/Instructor#TeachingAssistant` or the bare short name."""
    if uri.startswith(MEMBERSHIP):
        return uri.rpartition("#")[2] or None
    if "/" not in uri and "#" not in uri:
        return uri  # LTI 1.3 still allows the short context role names
    return None


def _institution_role(uri: str) -> str | None:
    return uri.rpartition("#")[2] or None if uri.startswith(INSTITUTION + "#") else None


def context_roles(uris: Iterable[str]) -> frozenset[str]:
    return frozenset(name for name in map(_context_role, uris) if name)


def institution_roles(uris: Iterable[str]) -> frozenset[str]:
    return frozenset(name for name in map(_institution_role, uris) if name)


def map_roles(uris: Iterable[str], *, in_context: bool) -> frozenset[Role]:
    """Our roles for a launch's role claim; `in_context` is whether the launch came from a course."""
    uris = list(uris)
    roles = {Role.TEACHER}
    if in_context and context_roles(uris) & FACILITATING:
        roles.add(Role.FACILITATOR)
    if institution_roles(uris) & ADMINISTERING:
        roles.add(Role.DISTRICT_ADMIN)
    return frozenset(roles)


def landing_path(uris: Iterable[str], *, in_context: bool, deep_linking: bool) -> str:
    """Deep linking has its own page; then the course role decides; then the institution role."""
    if deep_linking:
        return "/app/deep-link"
    uris = list(uris)
    if in_context:
        course = context_roles(uris)
        if course & FACILITATING:
            return "/app/facilitator"
        if course & LEARNING:
            return "/app/wallet"
    if institution_roles(uris) & ADMINISTERING:
        return "/app/dashboard"
    return "/app/wallet"
