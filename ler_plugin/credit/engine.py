"""The engine: one teacher, their credentials and records, one ruleset -> compliance for a cycle.

Order of work for a cycle: pick the credit each record is worth (or why it is worth nothing),
oldest first; apply category caps in that order; then, where the ruleset allows carry-over,
move surplus credit earned in the end-of-cycle window to the next cycle, newest first, never
below a category minimum. Records are sorted by (completed_on, id) before anything else, so
the answer never depends on the order they arrive in. Carry-in to a cycle is the carry-out of
the previous one, computed the same way, so an hour counts toward one cycle only.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ler_plugin.credit import results as r
from ler_plugin.credit.categories import CATEGORIES, OTHER, category_label
from ler_plugin.credit.cycles import Cycle, carry_window_start, cycle_at, cycle_index
from ler_plugin.credit.errors import CreditError
from ler_plugin.credit.facts import REJECTED, REVOKED, Credential, CreditRecord, TeacherFacts
from ler_plugin.credit.results import Compliance
from ler_plugin.credit.ruleset import CategoryLimit, Ruleset, RuleVersion

ZERO = Decimal(0)
CENT = Decimal("0.01")


class _Credit:
    """Working state of one record's credit within a cycle (mutable, private to the engine)."""

    __slots__ = ("amount", "capped", "carried_in", "carried_out", "category", "credited", "record")

    def __init__(self, record: CreditRecord, category: str, amount: Decimal, carried_in: bool):
        self.record = record
        self.category = category
        self.amount = amount
        self.credited = amount
        self.capped = ZERO
        self.carried_out = ZERO
        self.carried_in = carried_in


class _Requirement:
    __slots__ = ("classes", "credit", "required")

    def __init__(self, required: Decimal | None, credit: Decimal, classes: tuple[str, ...]):
        self.required = required
        self.credit = credit
        self.classes = classes


class _Tally:
    """One cycle worked through: credit per record, per category, and what carries out."""

    __slots__ = (
        "capped",
        "caps",
        "carry_out",
        "credits",
        "first",
        "minimums",
        "past_last",
        "per_category",
        "skipped",
    )

    def __init__(self, first: int, past_last: int) -> None:
        # ordered[first:past_last] are the records completed within the cycle.
        self.first = first
        self.past_last = past_last
        self.credits: list[_Credit] = []
        self.skipped: list[tuple[CreditRecord, str, Decimal]] = []
        self.per_category: dict[str, Decimal] = {}
        self.minimums: dict[str, Decimal] = {}
        self.caps: dict[str, Decimal] = {}
        self.capped = ZERO
        self.carry_out = ZERO


def evaluate(
    ruleset: Ruleset,
    teacher: TeacherFacts,
    records: Iterable[CreditRecord],
    *,
    on: date,
    credential: Credential | None = None,
) -> Compliance:
    """Compliance for the cycle containing ``on``: of ``credential`` alone when given, else of
    the credentials held on ``on``, combined as the ruleset says (max, sum or primary)."""
    held, governing = _credentials(teacher, on, credential)
    birth_month = teacher.month_of_birth
    index = cycle_index(ruleset.cycle, governing.issued_on, birth_month, on)
    cycle = cycle_at(ruleset.cycle, governing.issued_on, birth_month, index)
    ordered = _ordered(records)
    carry_in: list[_Credit] = []
    if ruleset.has_carry_over and index > 0 and ordered and ordered[0].completed_on < cycle.start:
        carry_in = _carry_into(ruleset, governing, birth_month, held, ordered, index)
    version = _version_for(ruleset, cycle)
    requirement = _requirement(version, held, governing)
    tally = _tally(ruleset, version, cycle, requirement, ordered, carry_in)
    return _compliance(ruleset, version, cycle, on, requirement, ordered, tally)


def cycle_containing(
    ruleset: Ruleset, teacher: TeacherFacts, on: date, *, credential: Credential | None = None
) -> Cycle:
    """The renewal cycle (index, start, end) that contains ``on`` for this teacher."""
    _, governing = _credentials(teacher, on, credential)
    birth_month = teacher.month_of_birth
    index = cycle_index(ruleset.cycle, governing.issued_on, birth_month, on)
    return cycle_at(ruleset.cycle, governing.issued_on, birth_month, index)


def _credentials(
    teacher: TeacherFacts, on: date, credential: Credential | None
) -> tuple[tuple[Credential, ...], Credential]:
    """The credentials that set the requirement, and the one whose dates lay out the cycles:
    the primary one, else the earliest issued."""
    if credential is not None:
        return (credential,), credential
    held = tuple(c for c in teacher.credentials if c.held_on(on))
    if not held:
        raise CreditError(
            "no_credential", f"the teacher holds no credential on {on.isoformat()} to evaluate"
        )
    primaries = [c for c in held if c.primary]
    if len(primaries) > 1:
        raise CreditError(
            "several_primary_credentials",
            f"{len(primaries)} credentials held on {on.isoformat()} are marked primary; mark one",
        )
    governing = (
        primaries[0] if primaries else min(held, key=lambda c: (c.issued_on, c.credential_class))
    )
    return held, governing


def _ordered(records: Iterable[CreditRecord]) -> list[CreditRecord]:
    ordered = sorted(records, key=lambda record: (record.completed_on, record.id))
    seen: set[str] = set()
    for record in ordered:
        if record.id in seen:
            raise CreditError("duplicate_record", f"record id {record.id!r} appears twice")
        seen.add(record.id)
    return ordered


def _version_for(ruleset: Ruleset, cycle: Cycle) -> RuleVersion:
    day = cycle.end if ruleset.version_chosen_by == "cycle_end" else cycle.start
    return ruleset.version_on(day)


def _requirement(
    version: RuleVersion, held: Sequence[Credential], governing: Credential
) -> _Requirement:
    each: list[tuple[Credential, Decimal | None, Decimal]] = []
    for credential in held:
        rule = version.credential_classes.get(credential.credential_class)
        if rule is None:
            known = ", ".join(sorted(version.credential_classes))
            raise CreditError(
                "unknown_credential_class",
                f"credential class {credential.credential_class!r} is not in this ruleset "
                f"version (effective {version.effective_from.isoformat()}; known: {known})",
            )
        board = rule.national_board if credential.national_board else None
        required = rule.required
        credit = ZERO
        if board is not None:
            if board.exempt:
                required = None
            elif board.required is not None:
                required = board.required
            elif board.credit is not None:
                credit = board.credit
        each.append((credential, None if rule.exempt else required, credit))
    if version.combine == "primary":
        chosen = [entry for entry in each if entry[0] is governing]
    else:
        chosen = [entry for entry in each if entry[1] is not None]
        if version.combine == "max" and chosen:
            # Ties go to the earliest issued, so the pick does not depend on input order.
            top = max(entry[1] for entry in chosen if entry[1] is not None)
            chosen = [
                min(
                    (entry for entry in chosen if entry[1] == top),
                    key=lambda entry: (entry[0].issued_on, entry[0].credential_class),
                )
            ]
    classes = tuple(sorted({entry[0].credential_class for entry in chosen}))
    amounts = [entry[1] for entry in chosen if entry[1] is not None]
    if not amounts:
        return _Requirement(
            None, ZERO, classes or tuple(sorted({c.credential_class for c in held}))
        )
    credit = sum((entry[2] for entry in chosen), ZERO)
    return _Requirement(sum(amounts, ZERO), credit, classes)


def _limits(
    limits: tuple[CategoryLimit, ...], classes: tuple[str, ...], required: Decimal, pick_max: bool
) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for limit in limits:
        if limit.credential_classes is not None and limit.credential_classes.isdisjoint(classes):
            continue
        value = limit.limit(required)
        current = found.get(limit.category)
        if current is None or (value > current if pick_max else value < current):
            found[limit.category] = value
    return found


def _category(name: str | None, version: RuleVersion) -> str:
    if name is None:
        return OTHER
    if name in CATEGORIES:
        return name
    return version.category_names.get(name.casefold(), OTHER)


def _credit_of(record: CreditRecord, version: RuleVersion) -> Decimal:
    units = version.units
    if record.clock_hours is not None:
        raw = record.clock_hours * units["clock_hour"]
    elif record.ceus is not None:
        raw = record.ceus * units["ceu"]
    elif record.semester_hours is not None:
        raw = record.semester_hours * units["semester_hour"]
    else:
        return ZERO
    return version.rounding.apply(raw)


def _tally(
    ruleset: Ruleset,
    version: RuleVersion,
    cycle: Cycle,
    requirement: _Requirement,
    ordered: list[CreditRecord],
    carry_in: list[_Credit],
) -> _Tally:
    days = [record.completed_on for record in ordered]
    tally = _Tally(bisect_left(days, cycle.start), bisect_right(days, cycle.end))
    counting, district = version.counting_statuses, version.district_sources
    providers = version.approved_providers
    credits = tally.credits
    credits.extend(carry_in)
    for record in ordered[tally.first : tally.past_last]:
        status = record.status
        from_district = record.source in district
        amount = _credit_of(record, version)
        if status == REVOKED:
            reason = r.REVOKED
        elif status == REJECTED:
            reason = r.REJECTED
        elif status not in counting and not from_district:
            reason = r.NOT_VERIFIED
        elif amount <= 0:
            reason = r.NO_CREDIT
        elif (
            providers is not None
            and not from_district
            and (record.provider is None or record.provider.casefold() not in providers)
        ):
            reason = r.PROVIDER_NOT_APPROVED
        else:
            credits.append(_Credit(record, _category(record.category, version), amount, False))
            continue
        tally.skipped.append((record, reason, amount))

    required = requirement.required
    if required is not None:
        tally.caps = caps = _limits(version.category_caps, requirement.classes, required, False)
        tally.minimums = _limits(version.category_minimums, requirement.classes, required, True)
        if caps:
            used: dict[str, Decimal] = {}
            for credit in credits:
                cap = caps.get(credit.category)
                if cap is None:
                    continue
                taken = used.get(credit.category, ZERO)
                allowed = min(credit.amount, max(cap - taken, ZERO))
                credit.credited = allowed
                credit.capped = credit.amount - allowed
                used[credit.category] = taken + allowed
                tally.capped += credit.capped

    per_category = tally.per_category
    total = requirement.credit
    for credit in credits:
        per_category[credit.category] = per_category.get(credit.category, ZERO) + credit.credited
        total += credit.credited

    carry = version.carry_over
    if carry is not None and required is not None and total > required:
        _carry_out(tally, carry_window_start(carry, cycle), total - required, carry.max)
    return tally


def _carry_out(tally: _Tally, window_start: date, surplus: Decimal, limit: Decimal | None) -> None:
    """Move surplus credit earned in the window to the next cycle, newest first, keeping every
    category minimum met."""
    left = surplus if limit is None else min(surplus, limit)
    per_category, minimums = tally.per_category, tally.minimums
    for credit in reversed(tally.credits):
        if left <= 0 or credit.record.completed_on < window_start:
            break
        if credit.carried_in or credit.credited <= 0:
            continue
        movable = min(left, credit.credited)
        minimum = minimums.get(credit.category)
        if minimum is not None:
            movable = min(movable, max(per_category[credit.category] - minimum, ZERO))
        if movable <= 0:
            continue
        credit.credited -= movable
        credit.carried_out = movable
        per_category[credit.category] -= movable
        tally.carry_out += movable
        left -= movable


def _carry_into(
    ruleset: Ruleset,
    governing: Credential,
    birth_month: int | None,
    held: tuple[Credential, ...],
    ordered: list[CreditRecord],
    index: int,
) -> list[_Credit]:
    """Credit carried into cycle ``index``: walk the earlier cycles that hold records, oldest
    first, each passing its carry-out to the next (the same credentials are assumed held)."""
    rule = ruleset.cycle
    first_day = max(ordered[0].completed_on, governing.issued_on)
    carried: list[_Credit] = []
    for number in range(cycle_index(rule, governing.issued_on, birth_month, first_day), index):
        cycle = cycle_at(rule, governing.issued_on, birth_month, number)
        version = _version_for(ruleset, cycle)
        tally = _tally(
            ruleset, version, cycle, _requirement(version, held, governing), ordered, carried
        )
        carried = [
            _Credit(credit.record, credit.category, credit.carried_out, True)
            for credit in tally.credits
            if credit.carried_out > 0
        ]
    return carried


def _status(
    cycle: Cycle, on: date, required: Decimal | None, earned: Decimal, minimums_met: bool
) -> tuple[str, Decimal]:
    elapsed = min(max((on - cycle.start).days + 1, 1), cycle.days)
    projected = (earned * cycle.days / elapsed).quantize(CENT, rounding=ROUND_HALF_UP)
    if required is None:
        return r.EXEMPT, projected
    if earned >= required and minimums_met:
        return r.COMPLETE, projected
    if elapsed == cycle.days:
        return r.BEHIND, projected
    if projected >= required:
        return r.ON_TRACK, projected
    # Past half the cycle with less than half the pace needed: flag it louder than at_risk.
    if elapsed * 2 >= cycle.days and projected * 2 < required:
        return r.BEHIND, projected
    return r.AT_RISK, projected


def _compliance(
    ruleset: Ruleset,
    version: RuleVersion,
    cycle: Cycle,
    on: date,
    requirement: _Requirement,
    ordered: list[CreditRecord],
    tally: _Tally,
) -> Compliance:
    outcomes: list[r.RecordOutcome] = []
    earned = requirement.credit
    carried_in_total = ZERO
    carried_ids: set[str] = set()
    for credit in tally.credits:
        earned += credit.credited
        if credit.carried_in:
            reason = r.CAPPED if credit.capped > 0 else r.CARRIED_IN
            carried_in_total += credit.amount
            carried_ids.add(credit.record.id)
        elif credit.capped > 0:
            reason = r.CAPPED
        elif credit.carried_out > 0:
            reason = r.CARRIED_OVER
        else:
            reason = r.COUNTED
        outcomes.append(
            r.RecordOutcome(
                credit.record.id,
                reason,
                credit.category,
                credit.amount,
                credit.credited,
                credit.capped,
                credit.carried_out,
            )
        )
    outside = [(record, r.OUTSIDE_CYCLE, ZERO) for record in ordered[: tally.first]]
    outside.extend((record, r.OUTSIDE_CYCLE, ZERO) for record in ordered[tally.past_last :])
    for record, reason, amount in (*tally.skipped, *outside):
        if record.id in carried_ids:
            continue
        outcomes.append(
            r.RecordOutcome(
                record.id,
                reason,
                _category(record.category, version),
                amount,
                ZERO,
                ZERO,
                ZERO,
            )
        )
    outcomes.sort(key=lambda outcome: outcome.record_id)

    minimums, caps, per_category = tally.minimums, tally.caps, tally.per_category
    capped_by_category: dict[str, Decimal] = {}
    for credit in tally.credits:
        if credit.capped > 0:
            capped_by_category[credit.category] = (
                capped_by_category.get(credit.category, ZERO) + credit.capped
            )
    categories = tuple(
        r.CategoryResult(
            category=key,
            label=category_label(key),
            earned=per_category.get(key, ZERO),
            minimum=minimums.get(key),
            cap=caps.get(key),
            capped=capped_by_category.get(key, ZERO),
        )
        for key in CATEGORIES
        if key in per_category or key in minimums or key in caps
    )
    shortfall = sum(
        (max(minimum - per_category.get(key, ZERO), ZERO) for key, minimum in minimums.items()),
        ZERO,
    )
    required = requirement.required
    remaining = ZERO if required is None else max(required - earned, shortfall, ZERO)
    status, projected = _status(cycle, on, required, earned, shortfall == 0)
    return Compliance(
        ruleset_id=ruleset.id,
        version_effective_from=version.effective_from,
        unit=ruleset.unit,
        credential_classes=requirement.classes,
        cycle=cycle,
        as_of=on,
        status=status,
        required=required,
        earned=earned,
        remaining=remaining,
        projected=projected,
        capped=tally.capped,
        carry_in=carried_in_total,
        carry_out=tally.carry_out,
        equivalency_credit=requirement.credit,
        categories=categories,
        outcomes=tuple(outcomes),
    )
