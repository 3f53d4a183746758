"""A OneRoster CSV bundle (a folder or a zip of `manifest.csv`, `orgs.csv`, `users.csv`,
`roles.csv`, `enrollments.csv`, `classes.csv`) read into a `Roster`.

`manifest.csv` says which files are there and whether each is `bulk` (everything: people left
out are marked inactive) or `delta` (only changes). Both the 1.2 layout (roles in `roles.csv`)
and the 1.1 one (`role` and `orgSourcedIds` in `users.csv`) are read. Rows are refused one by one
with their file and line; a bundle that cannot be read at all raises `RosterError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ler_plugin.roster import oneroster
from ler_plugin.roster.errors import RosterError
from ler_plugin.roster.oneroster import Role, User, clean
from ler_plugin.roster.rows import STAFF_ROLES, Progress, Roster, Where

VERSIONS = ("1.2", "1.1")
MODES = ("bulk", "delta", "absent")
# A bundle holds text; a zip that inflates past these is refused before it fills the disk.
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_ZIP_ENTRIES = 100
REQUIRED = {
    "orgs.csv": ("sourcedId", "name", "type"),
    "users.csv": ("sourcedId", "givenName", "familyName"),
    "roles.csv": ("userSourcedId", "role", "orgSourcedId", "roleType"),
    "enrollments.csv": ("userSourcedId", "role"),
    "classes.csv": ("sourcedId", "schoolSourcedId"),
}


class Bundle:
    """The files of a bundle, from a folder or a zip (one level, names matched exactly)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        if path.is_dir():
            self._names = {p.name: p.name for p in path.iterdir() if p.is_file()}
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError):
                raise RosterError(
                    "bad_bundle", f"{path} is neither a folder nor a zip of OneRoster CSV files"
                ) from None
            infos = self._zip.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise RosterError("bad_bundle", f"{path} holds more than {MAX_ZIP_ENTRIES} files")
            for info in infos:
                if not info.is_dir():
                    # Bundles are often zipped with their folder: take the files by base name.
                    self._names.setdefault(info.filename.rsplit("/", 1)[-1], info.filename)
        else:
            raise RosterError("bad_bundle", f"{path} does not exist")

    def has(self, name: str) -> bool:
        return name in self._names

    def text(self, name: str) -> str:
        member = self._names[name]
        if self._zip is None:
            data = (self.path / member).read_bytes()
        else:
            info = self._zip.getinfo(member)
            if info.file_size > MAX_FILE_BYTES:
                raise RosterError("bad_bundle", f"{name} is larger than {MAX_FILE_BYTES} bytes")
            with self._zip.open(member) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise RosterError("bad_bundle", f"{name} is larger than {MAX_FILE_BYTES} bytes")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RosterError(
                "bad_encoding", f"{name} is not UTF-8 (byte {exc.start} cannot be read)"
            ) from None

    def rows(self, name: str) -> Iterator[tuple[Where, dict[str, str]]]:
        """Each data row with the line it starts on; the header checked for required columns."""
        reader = csv.reader(io.StringIO(self.text(name), newline=""))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise RosterError(
                "bad_bundle", f"{name} is empty: it needs at least a header"
            ) from None
        except csv.Error as exc:
            raise RosterError("bad_csv", f"{name}: the header cannot be read ({exc})") from None
        missing = [c for c in REQUIRED.get(name, ()) if c not in header]
        if missing:
            raise RosterError(
                "bad_header", f"{name} has no column {', '.join(missing)} (its header: {header})"
            )
        line = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise RosterError("bad_csv", f"{name}:{line}: {exc}") from None
            where = Where(name, line)
            line = reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield (
                    where,
                    {"__width__": f"{len(values)} fields where the header has {len(header)}"},
                )
                continue
            yield where, dict(zip(header, values, strict=True))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _manifest(bundle: Bundle) -> dict[str, str]:
    if not bundle.has("manifest.csv"):
        raise RosterError(
            "no_manifest", f"{bundle.path} has no manifest.csv: is it a OneRoster bundle?"
        )
    found: dict[str, str] = {}
    for _where, row in bundle.rows("manifest.csv"):
        name = clean(row.get("propertyName"))
        if name:
            found[name] = clean(row.get("value"))
    version = found.get("oneroster.version", "")
    if version not in VERSIONS:
        raise RosterError(
            "bad_version",
            f"manifest.csv says oneroster.version {version!r}; this reads {' and '.join(VERSIONS)}",
        )
    for name in ("orgs", "users"):
        mode = found.get(f"file.{name}", "absent")
        if mode not in ("bulk", "delta"):
            raise RosterError(
                "bad_manifest", f"manifest.csv: file.{name} is {mode!r}; it must be bulk or delta"
            )
    for key, value in found.items():
        if key.startswith("file.") and value not in MODES:
            raise RosterError(
                "bad_manifest", f"manifest.csv: {key} is {value!r}, not bulk, delta or absent"
            )
    return found


def _mode(manifest: dict[str, str], bundle: Bundle, name: str) -> str:
    mode = manifest.get(f"file.{name}", "absent")
    if mode != "absent" and not bundle.has(f"{name}.csv"):
        raise RosterError("missing_file", f"manifest.csv lists {name}.csv but the bundle has none")
    return mode


def _width(roster: Roster, where: Where, row: dict[str, str]) -> bool:
    if "__width__" in row:
        roster.refuse(where, row["__width__"])
        return False
    return True


def read(path: Path, progress: Progress | None = None, today: dt.date | None = None) -> Roster:
    """Read the bundle at `path` (a folder or a zip)."""
    today = today or dt.date.today()
    bundle = Bundle(path)
    try:
        return _read(bundle, progress, today)
    finally:
        bundle.close()


def _read(bundle: Bundle, progress: Progress | None, today: dt.date) -> Roster:
    manifest = _manifest(bundle)
    modes = {
        n: _mode(manifest, bundle, n) for n in ("orgs", "users", "roles", "enrollments", "classes")
    }
    roster = Roster(source=f"OneRoster CSV {bundle.path.name}", full=modes["users"] == "bulk")
    types: dict[str, str] = {}
    for where, row in bundle.rows("orgs.csv"):
        if _width(roster, where, row):
            oneroster.read_org(
                roster,
                where,
                sourced_id=clean(row.get("sourcedId")),
                name=clean(row.get("name")),
                kind=clean(row.get("type")),
                identifier=clean(row.get("identifier")),
                status=clean(row.get("status")),
                types=types,
            )
    users: dict[str, User] = {}
    seen: dict[str, Where] = {}
    for count, (where, row) in enumerate(bundle.rows("users.csv"), 1):
        if progress and count % 1000 == 0:
            progress(count, None, "reading users.csv")
        if not _width(roster, where, row):
            continue
        user = oneroster.read_user(
            roster,
            User(
                sourced_id=clean(row.get("sourcedId")),
                given_name=clean(row.get("preferredGivenName")) or clean(row.get("givenName")),
                family_name=clean(row.get("preferredFamilyName")) or clean(row.get("familyName")),
                where=where,
                email=clean(row.get("email")) or None,
                identifier=clean(row.get("identifier")) or None,
                status=clean(row.get("status")),
                primary_org=clean(row.get("primaryOrgSourcedId")) or None,
            ),
            seen,
        )
        if user is None:
            continue
        users[user.sourced_id] = user
        # 1.1 layout (and 1.2 files that still carry it): the role, at each of orgSourcedIds.
        role = clean(row.get("role"))
        if role:
            orgs = [o.strip() for o in clean(row.get("orgSourcedIds")).split(",") if o.strip()]
            user.roles += [Role(role, org, i == 0, where) for i, org in enumerate(orgs)]
            if not orgs:
                user.roles.append(Role(role, "", True, where))
    if modes["roles"] != "absent":
        _roles(bundle, roster, users, today)
    if modes["enrollments"] != "absent":
        _enrollments(bundle, roster, users, modes["classes"] != "absent")
    oneroster.staff(roster, list(users.values()), types)
    return roster


def _roles(bundle: Bundle, roster: Roster, users: dict[str, User], today: dt.date) -> None:
    for where, row in bundle.rows("roles.csv"):
        if not _width(roster, where, row):
            continue
        user = users.get(clean(row.get("userSourcedId")))
        role, org, kind = (
            clean(row.get("role")),
            clean(row.get("orgSourcedId")),
            clean(row.get("roleType")),
        )
        status = clean(row.get("status"))
        if not oneroster.check_status(roster, where, status) or status in oneroster.GONE:
            continue
        if user is None:
            if role in STAFF_ROLES:
                roster.refuse(where, f"no user {clean(row.get('userSourcedId'))!r} in users.csv")
            continue
        if not role or not org:
            roster.refuse(where, "the role needs a role and an orgSourcedId")
            continue
        if kind not in ("primary", "secondary"):
            roster.refuse(where, f"roleType {kind!r} is not primary or secondary")
            continue
        ended = oneroster.role_ended(clean(row.get("endDate")), today)
        if ended is None:
            roster.refuse(where, f"endDate {clean(row.get('endDate'))!r} is not a date")
            continue
        if not ended:
            user.roles.append(Role(role, org, kind == "primary", where))


def _enrollments(bundle: Bundle, roster: Roster, users: dict[str, User], classes: bool) -> None:
    """Schools of the classes staff teach: `schoolSourcedId`, else the class's school."""
    class_school: dict[str, str] = {}
    if classes:
        for where, row in bundle.rows("classes.csv"):
            if _width(roster, where, row):
                class_school[clean(row.get("sourcedId"))] = clean(row.get("schoolSourcedId"))
    for where, row in bundle.rows("enrollments.csv"):
        if not _width(roster, where, row):
            continue
        role = clean(row.get("role"))
        status = clean(row.get("status"))
        if role not in STAFF_ROLES or status in oneroster.GONE:
            continue
        user = users.get(clean(row.get("userSourcedId")))
        if user is None:
            roster.refuse(where, f"no user {clean(row.get('userSourcedId'))!r} in users.csv")
            continue
        school = clean(row.get("schoolSourcedId")) or class_school.get(
            clean(row.get("classSourcedId")), ""
        )
        if not school:
            roster.refuse(where, "the enrollment names no school and its class none either")
            continue
        user.class_schools.append(school)
        if not any(r.role in STAFF_ROLES for r in user.roles):
            user.roles.append(Role(role, school, False, where))
