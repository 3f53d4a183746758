"""Properties over generated records: order never matters, credit is never counted twice."""

from datetime import date, timedelta
from decimal import Decimal

from credit_builders import holding
from hypothesis import given, settings
from hypothesis import strategies as st

from ler_plugin.credit import CreditRecord, evaluate, load_ruleset

RULESETS = {name: load_ruleset(name) for name in ("tx", "il", "pa", "fl", "ny")}
FACTS = {
    "tx": holding("classroom_teacher", date(2014, 12, 10), birth_month=2),
    "il": holding("teaching", date(2015, 10, 1)),
    "pa": holding("professional_educator", date(2012, 9, 1)),
    "fl": holding("professional", date(2015, 10, 15)),
    "ny": holding("professional", date(2016, 9, 15), birth_month=11),
}
CATEGORY_NAMES = [None, "independent_study", "Presenting", "ell", "ESE", "mentoring", "stem"]

quantities = st.decimals(min_value=0, max_value=60, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def records(draw):
    count = draw(st.integers(0, 40))
    found = []
    for number in range(count):
        unit = draw(st.sampled_from(["clock_hours", "ceus", "semester_hours", None]))
        amount = draw(quantities)
        found.append(
            CreditRecord(
                id=f"r{number}",
                kind="workshop",
                source=draw(st.sampled_from(["provider", "lms_award", "self_reported"])),
                status=draw(st.sampled_from(["verified", "approved", "pending", "revoked"])),
                completed_on=date(2015, 1, 1) + timedelta(days=draw(st.integers(0, 365 * 9))),
                clock_hours=amount if unit == "clock_hours" else None,
                ceus=amount / 10 if unit == "ceus" else None,
                semester_hours=amount / 15 if unit == "semester_hours" else None,
                category=draw(st.sampled_from(CATEGORY_NAMES)),
                provider="Provider",
            )
        )
    return found


states = st.sampled_from(sorted(RULESETS))
as_of = st.dates(date(2017, 1, 1), date(2024, 12, 31))


@settings(max_examples=60, deadline=None)
@given(state=states, generated=records(), on=as_of, data=st.data())
def test_totals_do_not_depend_on_record_order(state, generated, on, data):
    shuffled = data.draw(st.permutations(generated))
    first = evaluate(RULESETS[state], FACTS[state], generated, on=on)
    second = evaluate(RULESETS[state], FACTS[state], shuffled, on=on)
    assert first == second


@settings(max_examples=60, deadline=None)
@given(state=states, generated=records(), on=as_of)
def test_earned_is_never_more_than_counted_credit(state, generated, on):
    compliance = evaluate(RULESETS[state], FACTS[state], generated, on=on)
    counted = sum((outcome.credited for outcome in compliance.outcomes), Decimal(0))
    assert compliance.earned <= counted + compliance.equivalency_credit
    assert compliance.earned == counted + compliance.equivalency_credit
    for outcome in compliance.outcomes:
        assert outcome.credited >= 0
        if outcome.reason in {"counted", "capped", "carried_over"}:
            assert outcome.credited + outcome.capped + outcome.carried_out == outcome.amount
        elif outcome.reason != "carried_in":
            assert outcome.credited == 0
    assert compliance.remaining >= 0


@settings(max_examples=60, deadline=None)
@given(state=st.sampled_from(["il", "pa"]), generated=records(), on=as_of)
def test_carried_credit_counts_in_one_cycle_only(state, generated, on):
    ruleset, facts = RULESETS[state], FACTS[state]
    current = evaluate(ruleset, facts, generated, on=on)
    previous_end = current.cycle.start - timedelta(days=1)
    if previous_end < facts.credentials[0].issued_on:
        return
    previous = evaluate(ruleset, facts, generated, on=previous_end)
    assert current.carry_in == previous.carry_out
    for outcome in current.outcomes:
        if outcome.reason == "carried_in":
            before = previous.outcome(outcome.record_id)
            assert outcome.amount == before.carried_out
            assert before.credited + before.capped + before.carried_out == before.amount
