from __future__ import annotations

import pytest

from ler_plugin.lti.roles import landing_path, map_roles
from ler_plugin.principal import Role

M = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
I = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"  # noqa: E741
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"


@pytest.mark.parametrize(
    ("uris", "in_context", "roles", "path"),
    [
        ([M + "Learner"], True, {Role.TEACHER}, "/app/wallet"),
        ([M + "Instructor"], True, {Role.TEACHER, Role.FACILITATOR}, "/app/facilitator"),
        ([TA], True, {Role.TEACHER, Role.FACILITATOR}, "/app/facilitator"),
        ([M + "ContentDeveloper"], True, {Role.TEACHER, Role.FACILITATOR}, "/app/facilitator"),
        (["Instructor"], True, {Role.TEACHER, Role.FACILITATOR}, "/app/facilitator"),
        # Context roles decide first: an administrator taking a course as a learner sees the wallet.
        (
            [M + "Learner", I + "Administrator"],
            True,
            {Role.TEACHER, Role.DISTRICT_ADMIN},
            "/app/wallet",
        ),
        ([I + "Administrator"], False, {Role.TEACHER, Role.DISTRICT_ADMIN}, "/app/dashboard"),
        # An Instructor role outside a course makes no facilitator.
        ([M + "Instructor"], False, {Role.TEACHER}, "/app/wallet"),
        ([I + "Faculty"], False, {Role.TEACHER}, "/app/wallet"),
        ([], False, {Role.TEACHER}, "/app/wallet"),
    ],
)
def test_roles_and_landing(uris: list[str], in_context: bool, roles: set[Role], path: str) -> None:
    assert map_roles(uris, in_context=in_context) == frozenset(roles)
    assert landing_path(uris, in_context=in_context, deep_linking=False) == path


def test_deep_linking_has_its_own_page() -> None:
    assert landing_path([M + "Instructor"], in_context=True, deep_linking=True) == "/app/deep-link"
