"""Who is asking: one value made at the edge (LTI session, provider token, operator) and passed
to every service call. Services decide what it may do; the GraphQL layer never hand-rolls it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ler_plugin.errors import Forbidden


class Role(enum.StrEnum):
    TEACHER = "teacher"
    FACILITATOR = "facilitator"
    DISTRICT_ADMIN = "district_admin"
    PROVIDER = "provider"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    roles: frozenset[Role]
    district_id: int | None
    teacher_id: int | None = None
    provider_id: int | None = None
    # What the audit log records as the actor (teacher id, provider client id, "cli").
    subject: str = ""
    # The LTI launch this session came from, when it came from one (course, deployment, services).
    launch_id: str | None = None
    context: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def has(self, role: Role) -> bool:
        return role in self.roles or Role.OPERATOR in self.roles

    def require(self, role: Role) -> None:
        if not self.has(role):
            raise Forbidden("forbidden", f"this needs the {role.value.replace('_', ' ')} role")

    def require_district(self, district_id: int) -> None:
        """Any principal but the operator is bound to one district."""
        if Role.OPERATOR in self.roles:
            return
        if self.district_id != district_id:
            raise Forbidden("forbidden", "that belongs to another district")

    @property
    def actor_kind(self) -> str:
        for role in (Role.OPERATOR, Role.PROVIDER, Role.DISTRICT_ADMIN, Role.FACILITATOR):
            if role in self.roles:
                return role.value
        return Role.TEACHER.value

    @classmethod
    def operator(cls) -> Principal:
        return cls(roles=frozenset({Role.OPERATOR}), district_id=None, subject="cli")

    @classmethod
    def for_teacher(
        cls, teacher_id: int, district_id: int, *extra: Role, launch_id: str | None = None
    ) -> Principal:
        return cls(
            roles=frozenset({Role.TEACHER, *extra}),
            district_id=district_id,
            teacher_id=teacher_id,
            subject=f"teacher:{teacher_id}",
            launch_id=launch_id,
        )
