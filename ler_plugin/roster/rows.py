"""The rows every source reads the district's systems into, and the refusals it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# (done, total or None, what) as a source or the apply step goes along.
Progress = Callable[[int, int | None, str], None]

# Roles of people the wallet is for: teachers, and the administrators who hold licences too.
# OneRoster 1.1 says "administrator"; 1.2 splits it into site, district and principal.
STAFF_ROLES = frozenset(
    {"teacher", "administrator", "principal", "siteAdministrator", "districtAdministrator"}
)


@dataclass(frozen=True)
class Where:
    """A row's place in what was read: a file and line, or a REST resource."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class Refusal:
    where: Where
    reason: str


@dataclass(frozen=True)
class SchoolRow:
    sourced_id: str
    name: str
    code: str | None
    where: Where


@dataclass(frozen=True)
class StaffRow:
    sourced_id: str
    given_name: str
    family_name: str
    role: str
    where: Where
    email: str | None = None
    staff_id: str | None = None
    # Sourced ids of the person's schools, the primary one first.
    schools: tuple[str, ...] = ()
    # False: the system says the person is to be deleted (status tobedeleted).
    active: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass
class Roster:
    """What one source read: schools, staff, refusals, and whether it lists everyone."""

    source: str
    # A full (bulk) roster lists every person: those it leaves out are marked inactive.
    # A delta changes only the people it lists.
    full: bool
    schools: list[SchoolRow] = field(default_factory=list)
    staff: list[StaffRow] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    # People read but not staff (students, guardians...): not ours to import.
    not_staff: int = 0
    # Every staff person the source lists, refused rows included: a full roster marks inactive
    # only the people it does not list.
    listed: set[str] = field(default_factory=set)

    def refuse(self, where: Where, reason: str) -> None:
        self.refused.append(Refusal(where, reason))
