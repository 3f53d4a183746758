"""Credit engine throughput: a district of 75,000 teachers x ~40 records, the engine against a
straightforward implementation of the same rules.

No peer exists to compare with: no open library evaluates state PD-renewal rules (districts use
spreadsheets or their licensing vendor's closed system). So the comparison is with what a
competent developer would write for one state: one pass over the teacher's records sorted by
date, counting the verified or district-issued ones inside the renewal cycle, converting units,
applying the category caps as it goes, summing per category. It knows only Texas (150 or 200
hours, 20% / 10% / 30% caps); the engine reads any ruleset file and explains each record. The
run checks both give every teacher the same hours.

Record sets are generated once (a pool of distinct teachers) and cycled through, so memory stays
small; evaluation is pure, so reusing inputs does not flatter either side.

    uv run python bench/credit_engine.py [--teachers 75000] [--records 40] [--pool 3000] [--quick]
"""

import sys
from pathlib import Path

# The repository on the path, not bench/ (bench/http.py would shadow the standard library's http).
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import random
import time
import timeit
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ler_plugin.credit import Credential, CreditRecord, TeacherFacts, evaluate, load_ruleset
from ler_plugin.credit.categories import CATEGORIES
from ler_plugin.credit.cycles import cycle_at, cycle_index

TX = load_ruleset("tx")
AS_OF = date(2024, 3, 15)
CATEGORY_CHOICES = [None, None, None, "independent_study", "Presenting", "mentoring", "stem", "ell"]
STATUSES = ["verified", "verified", "approved", "pending", "revoked"]
SOURCES = ["provider", "badge", "lms_award"]


def generate(
    rng: random.Random, records_per_teacher: int
) -> tuple[TeacherFacts, list[CreditRecord]]:
    issued = date(2018, 1, 1) + timedelta(days=rng.randrange(365 * 5))
    facts = TeacherFacts(
        credentials=(Credential(rng.choice(["classroom_teacher", "administrator"]), issued),),
        birth_month=rng.randint(1, 12),
    )
    count = max(1, int(rng.gauss(records_per_teacher, 6)))
    records = []
    for number in range(count):
        unit = rng.random()
        hours = Decimal(rng.randrange(1, 24)) / 2
        records.append(
            CreditRecord(
                id=f"r{number}",
                kind="workshop",
                source=rng.choice(SOURCES),
                status=rng.choice(STATUSES),
                completed_on=issued + timedelta(days=rng.randrange(365 * 6)),
                clock_hours=hours if unit < 0.8 else None,
                ceus=hours / 10 if 0.8 <= unit < 0.95 else None,
                semester_hours=Decimal(rng.randint(1, 3)) if unit >= 0.95 else None,
                category=rng.choice(CATEGORY_CHOICES),
                provider="Region 4 ESC",
            )
        )
    return facts, records


# The straightforward implementation --------------------------------------------------------

CAPS = {
    "independent_study": Decimal("0.20"),
    "presenting": Decimal("0.10"),
    "mentoring": Decimal("0.30"),
}
REQUIRED = {"classroom_teacher": Decimal(150), "administrator": Decimal(200)}
NAMES = {
    "presenting": "presenting",
    "independent study": "independent_study",
    "mentoring": "mentoring",
}
CENT = Decimal("0.01")
CHUNK = 500


def credit(row: CreditRecord) -> Decimal:
    if row.clock_hours is not None:
        raw = row.clock_hours
    elif row.ceus is not None:
        raw = row.ceus * 10
    elif row.semester_hours is not None:
        raw = row.semester_hours * 15
    else:
        return Decimal(0)
    return raw.quantize(CENT, rounding=ROUND_HALF_UP)


def category_of(row: CreditRecord) -> str:
    name = row.category
    if name is None:
        return "other"
    if name in CATEGORIES:
        return name
    return NAMES.get(name.casefold(), "other")


def straightforward(facts: TeacherFacts, rows: list[CreditRecord]) -> tuple[Decimal, dict]:
    credential = facts.credentials[0]
    index = cycle_index(TX.cycle, credential.issued_on, facts.birth_month, AS_OF)
    cycle = cycle_at(TX.cycle, credential.issued_on, facts.birth_month, index)
    required = REQUIRED[credential.credential_class]
    room = {category: required * share for category, share in CAPS.items()}
    per_category = dict.fromkeys(CATEGORIES, Decimal(0))
    earned = Decimal(0)
    for row in sorted(rows, key=lambda r: (r.completed_on, r.id)):
        if not cycle.start <= row.completed_on <= cycle.end:
            continue
        if row.status in ("revoked", "rejected"):
            continue
        if row.status not in ("verified", "approved") and row.source != "lms_award":
            continue
        amount = credit(row)
        if amount <= 0:
            continue
        category = category_of(row)
        per_category[category] += amount
        if category in room:
            amount = max(Decimal(0), min(amount, room[category]))
            room[category] -= amount
        earned += amount
    return earned, per_category


# The run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=75_000)
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--pool", type=int, default=3_000)
    parser.add_argument("--quick", action="store_true", help="5,000 teachers, a pool of 500.")
    args = parser.parse_args()
    if args.quick:
        args.teachers, args.pool = 5_000, 500

    rng = random.Random(20261128)
    pool = [generate(rng, args.records) for _ in range(args.pool)]
    total_records = sum(len(pool[n % args.pool][1]) for n in range(args.teachers))

    for facts, records in pool:  # same answers, or the comparison means nothing
        ours = evaluate(TX, facts, records, on=AS_OF).earned
        theirs, _ = straightforward(facts, records)
        assert ours == theirs, (ours, theirs)

    # The two sides take turns by chunks of teachers, so a change in machine load during the
    # run affects both alike.
    statuses: dict[str, int] = {}
    engine_seconds = plain_seconds = 0.0
    for chunk_start in range(0, args.teachers, CHUNK):
        chunk = range(chunk_start, min(chunk_start + CHUNK, args.teachers))
        started = time.perf_counter()
        for number in chunk:
            facts, records = pool[number % args.pool]
            status = evaluate(TX, facts, records, on=AS_OF).status
            statuses[status] = statuses.get(status, 0) + 1
        engine_seconds += time.perf_counter() - started
        started = time.perf_counter()
        for number in chunk:
            facts, records = pool[number % args.pool]
            straightforward(facts, records)
        plain_seconds += time.perf_counter() - started

    print(
        f"teachers: {args.teachers:,}  records: {total_records:,} "
        f"(~{total_records / args.teachers:.1f} per teacher), ruleset tx, as of {AS_OF}"
    )
    print(
        f"engine : {engine_seconds:8.2f} s  {args.teachers / engine_seconds:10,.0f} evaluations/s"
        f"  {engine_seconds / args.teachers * 1e6:7.1f} us/teacher"
    )
    print(
        f"plain  : {plain_seconds:8.2f} s  {args.teachers / plain_seconds:10,.0f} evaluations/s"
        f"  {plain_seconds / args.teachers * 1e6:7.1f} us/teacher"
    )
    print(
        f"ratio  : the engine's throughput is {plain_seconds / engine_seconds:.2f}x the "
        "straightforward implementation's"
    )
    # Best of several short runs on one typical teacher: the figure least disturbed by load.
    facts, records = max(pool[:50], key=lambda entry: len(entry[1]))
    best_engine = min(
        timeit.repeat(lambda: evaluate(TX, facts, records, on=AS_OF), number=200, repeat=7)
    )
    best_plain = min(timeit.repeat(lambda: straightforward(facts, records), number=200, repeat=7))
    print(
        f"one teacher, {len(records)} records, best of 7: engine {best_engine / 200 * 1e6:.1f} us,"
        f" straightforward {best_plain / 200 * 1e6:.1f} us ({best_plain / best_engine:.2f}x)"
    )
    # Other work on the machine slows everything alike; this shows how much, for comparison.
    reference = min(timeit.repeat("sum(range(1000))", number=1000, repeat=7)) / 1000 * 1e6
    print(f"machine reference: sum(range(1000)) takes {reference:.1f} us in this run")
    print("statuses:", ", ".join(f"{key} {value:,}" for key, value in sorted(statuses.items())))


if __name__ == "__main__":
    main()
