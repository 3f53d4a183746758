"""Compliance with the real state rules: requirements, categories, caps, carry-over, status."""

import json
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources

import pytest
from credit_builders import holding, record, teacher

from ler_plugin.credit import Credential, CreditError, evaluate, load_ruleset, parse_ruleset

TX = load_ruleset("tx")
NY = load_ruleset("ny")
IL = load_ruleset("il")
FL = load_ruleset("fl")
PA = load_ruleset("pa")
CA = load_ruleset("ca")
GENERIC = load_ruleset("generic")

TX_TEACHER = holding("classroom_teacher", date(2019, 12, 10), birth_month=3)  # to 2025-03-31
TX_MID = date(2022, 6, 1)


def edited(name: str, edit) -> object:
    text = resources.files("ler_plugin.credit").joinpath(f"rulesets/{name}.json").read_text()
    data = json.loads(text)
    edit(data)
    return parse_ruleset(data, origin=f"{name}.json")


# Requirements by credential class


@pytest.mark.parametrize(
    ("ruleset", "facts", "on", "required"),
    [
        (TX, TX_TEACHER, TX_MID, 150),
        (TX, holding("administrator", date(2019, 12, 10), birth_month=3), TX_MID, 200),
        (TX, holding("student_services", date(2019, 12, 10), birth_month=3), TX_MID, 200),
        (NY, holding("professional", date(2017, 9, 15), birth_month=3), date(2020, 1, 1), 100),
        (
            NY,
            holding("teaching_assistant_level_iii", date(2017, 9, 15), birth_month=3),
            date(2020, 1, 1),
            75,
        ),
        (IL, holding("teaching", date(2020, 10, 1)), date(2022, 1, 1), 120),
        (IL, holding("teaching", date(2020, 10, 1), national_board=True), date(2022, 1, 1), 60),
        (IL, holding("administrative", date(2020, 10, 1)), date(2022, 1, 1), 100),
        (FL, holding("professional", date(2020, 10, 15)), date(2022, 1, 1), 120),
        (PA, holding("professional_educator", date(2018, 9, 1)), date(2020, 1, 1), 180),
    ],
)
def test_requirement_by_credential_class(ruleset, facts, on, required):
    compliance = evaluate(ruleset, facts, [], on=on)
    assert compliance.required == required
    assert compliance.remaining == required
    assert compliance.earned == 0


def test_california_clear_credential_is_exempt():
    facts = holding("clear_credential", date(2021, 5, 1))
    compliance = evaluate(CA, facts, [record("r1", date(2022, 1, 1), "12")], on=date(2023, 1, 1))
    assert compliance.status == "exempt"
    assert compliance.required is None
    assert compliance.remaining == 0
    assert compliance.earned == 12  # still shown: the teacher's learning is real


def test_texas_aide_is_exempt():
    facts = holding("educational_aide", date(2019, 12, 10), birth_month=3)
    assert evaluate(TX, facts, [], on=TX_MID).status == "exempt"


def test_new_york_version_in_force_is_chosen_by_the_cycle_date():
    facts = holding("professional", date(2010, 9, 15), birth_month=3)
    old = evaluate(NY, facts, [], on=date(2014, 1, 1))  # cycle ends 2015-03-31
    assert (old.cycle.end, old.required, old.version_effective_from) == (
        date(2015, 3, 31),
        175,
        date(2004, 2, 2),
    )
    new = evaluate(NY, facts, [], on=date(2016, 1, 1))  # 2015-04-01 .. 2020-03-31
    assert (new.required, new.version_effective_from) == (100, date(2016, 7, 1))


def test_unknown_credential_class_is_named():
    with pytest.raises(CreditError) as caught:
        evaluate(TX, holding("wizard", date(2019, 12, 10), birth_month=3), [], on=TX_MID)
    assert caught.value.code == "unknown_credential_class"
    assert "wizard" in caught.value.message


def test_no_credential_held_on_the_date():
    facts = teacher(
        Credential("classroom_teacher", date(2019, 12, 10), date(2020, 12, 31)), birth_month=3
    )
    with pytest.raises(CreditError) as caught:
        evaluate(TX, facts, [], on=TX_MID)
    assert caught.value.code == "no_credential"


# Several credentials


def test_texas_teacher_and_principal_completes_the_larger_requirement():
    facts = teacher(
        Credential("classroom_teacher", date(2019, 12, 10)),
        Credential("administrator", date(2021, 2, 1)),
        birth_month=3,
    )
    compliance = evaluate(TX, facts, [], on=TX_MID)
    assert compliance.required == 200
    assert compliance.credential_classes == ("administrator",)
    # The cycle follows the earliest credential when none is primary.
    assert compliance.cycle.start == date(2019, 12, 10)


def test_illinois_follows_the_primary_position():
    facts = teacher(
        Credential("teaching", date(2020, 10, 1), national_board=True),
        Credential("administrative", date(2021, 8, 1), primary=True),
    )
    compliance = evaluate(IL, facts, [], on=date(2022, 1, 1))
    assert compliance.required == 100
    assert compliance.cycle.start == date(2021, 8, 1)
    without_primary = teacher(
        Credential("teaching", date(2020, 10, 1), national_board=True),
        Credential("administrative", date(2021, 8, 1)),
    )
    assert evaluate(IL, without_primary, [], on=date(2022, 1, 1)).required == 60


def test_sum_combines_requirements():
    summing = edited("tx", lambda data: data["versions"][0].update(combine="sum"))
    facts = teacher(
        Credential("classroom_teacher", date(2019, 12, 10)),
        Credential("administrator", date(2021, 2, 1)),
        Credential("educational_aide", date(2021, 2, 1)),
        birth_month=3,
    )
    assert evaluate(summing, facts, [], on=TX_MID).required == 350


def test_two_primary_credentials_is_an_error():
    facts = teacher(
        Credential("teaching", date(2020, 10, 1), primary=True),
        Credential("administrative", date(2021, 8, 1), primary=True),
    )
    with pytest.raises(CreditError) as caught:
        evaluate(IL, facts, [], on=date(2022, 1, 1))
    assert caught.value.code == "several_primary_credentials"


def test_evaluating_one_credential_alone():
    admin = Credential("administrator", date(2021, 2, 1))
    facts = teacher(Credential("classroom_teacher", date(2019, 12, 10)), admin, birth_month=3)
    compliance = evaluate(TX, facts, [], on=TX_MID, credential=admin)
    assert compliance.required == 200
    assert compliance.cycle.start == date(2021, 2, 1)


# Equivalencies


def test_national_board_that_counts_as_hours():
    counting = edited(
        "generic",
        lambda data: data["versions"][0]["credential_classes"]["staff"].update(
            national_board={"credit": "10"}
        ),
    )
    facts = holding("staff", date(2024, 7, 1), national_board=True)
    compliance = evaluate(
        counting, facts, [record("r1", date(2024, 9, 1), "6")], on=date(2025, 1, 1)
    )
    assert compliance.equivalency_credit == 10
    assert compliance.earned == 16
    assert compliance.remaining == 8


def test_national_board_that_exempts():
    exempting = edited(
        "generic",
        lambda data: data["versions"][0]["credential_classes"]["staff"].update(
            national_board={"exempt": True}
        ),
    )
    facts = holding("staff", date(2024, 7, 1), national_board=True)
    assert evaluate(exempting, facts, [], on=date(2025, 1, 1)).status == "exempt"


# Which records count


def test_record_statuses_and_sources_decide_what_counts():
    records = [
        record("verified", date(2021, 1, 4), "10"),
        record("approved", date(2021, 1, 5), "10", status="approved"),
        record("pending", date(2021, 1, 6), "10", status="pending"),
        record("self", date(2021, 1, 7), "10", status="self_reported", source="self_reported"),
        record("lms", date(2021, 1, 8), "10", status="pending", source="lms_award"),
        record("revoked", date(2021, 1, 9), "10", status="revoked", source="lms_award"),
        record("rejected", date(2021, 1, 10), "10", status="rejected"),
        record("before", date(2019, 12, 9), "10"),
        record("after", date(2025, 4, 1), "10"),
        record("empty", date(2021, 1, 11)),
        record("zero", date(2021, 1, 12), "0"),
    ]
    compliance = evaluate(TX, TX_TEACHER, records, on=TX_MID)
    reasons = {outcome.record_id: outcome.reason for outcome in compliance.outcomes}
    assert reasons == {
        "verified": "counted",
        "approved": "counted",
        "pending": "not_verified",
        "self": "not_verified",
        "lms": "counted",
        "revoked": "revoked",
        "rejected": "rejected",
        "before": "outside_cycle",
        "after": "outside_cycle",
        "empty": "no_credit",
        "zero": "no_credit",
    }
    assert compliance.earned == 30
    assert sum(outcome.credited for outcome in compliance.outcomes) == 30


def test_ceus_and_semester_hours_are_converted():
    records = [
        record("ceu", date(2021, 1, 4), ceus="1.5"),
        record("course", date(2021, 1, 5), semester_hours="3"),
    ]
    compliance = evaluate(TX, TX_TEACHER, records, on=TX_MID)
    assert compliance.outcome("ceu").credited == 15
    assert compliance.outcome("course").credited == 45
    pa = evaluate(
        PA,
        holding("professional_educator", date(2018, 9, 1)),
        [record("course", date(2019, 5, 1), semester_hours="6")],
        on=date(2020, 1, 1),
    )
    assert pa.status == "complete" and pa.earned == 180


def test_records_from_unapproved_providers_do_not_count():
    listed = edited(
        "tx", lambda data: data["versions"][0].update(approved_providers=["Region 4 ESC"])
    )
    records = [
        record("listed", date(2021, 1, 4), "5", provider="region 4 esc"),
        record("unlisted", date(2021, 1, 5), "5", provider="Webinars R Us"),
        record("anonymous", date(2021, 1, 6), "5", provider=None),
        record("district", date(2021, 1, 7), "5", provider=None, source="lms_award"),
    ]
    compliance = evaluate(listed, TX_TEACHER, records, on=TX_MID)
    assert compliance.outcome("listed").reason == "counted"
    assert compliance.outcome("unlisted").reason == "provider_not_approved"
    assert compliance.outcome("anonymous").reason == "provider_not_approved"
    assert compliance.outcome("district").reason == "counted"
    assert compliance.earned == 10


def test_duplicate_record_ids_are_refused():
    records = [record("same", date(2021, 1, 4), "5"), record("same", date(2021, 2, 4), "5")]
    with pytest.raises(CreditError) as caught:
        evaluate(TX, TX_TEACHER, records, on=TX_MID)
    assert caught.value.code == "duplicate_record"


def test_bad_record_fails_naming_the_field():
    with pytest.raises(CreditError) as caught:
        record("neg", date(2021, 1, 4), "-3")
    assert caught.value.code == "invalid_input"
    assert caught.value.field == "CreditRecord.clock_hours"


# Category caps and minimums


def test_texas_caps_independent_study_and_presenting_and_reports_overflow():
    records = [
        record("study1", date(2021, 1, 4), "20", category="Independent study"),
        record("study2", date(2021, 2, 4), "20", category="independent_study"),
        record("present", date(2021, 3, 4), "25", category="Presenting"),
        record("workshop", date(2021, 4, 4), "50"),
    ]
    compliance = evaluate(TX, TX_TEACHER, records, on=TX_MID)
    study = compliance.outcome("study2")
    assert (study.reason, study.credited, study.capped) == ("capped", 10, 10)
    assert compliance.outcome("study1").reason == "counted"
    present = compliance.outcome("present")
    assert (present.reason, present.credited, present.capped) == ("capped", 15, 10)
    assert compliance.capped == 20
    assert compliance.earned == 30 + 15 + 50
    by_category = {c.category: c for c in compliance.categories}
    assert by_category["independent_study"].cap == 30
    assert by_category["independent_study"].capped == 10
    assert by_category["presenting"].cap == 15


def test_new_york_fifteen_percent_on_english_language_learners():
    facts = holding("professional", date(2017, 9, 15), birth_month=3)
    records = [
        record("general", date(2019, 1, 4), "90"),
        record("ell", date(2019, 2, 4), "10", category="Language acquisition"),
    ]
    compliance = evaluate(NY, facts, records, on=date(2020, 1, 1))
    ell = next(c for c in compliance.categories if c.category == "ell")
    assert (ell.minimum, ell.earned, ell.satisfied) == (15, 10, False)
    assert compliance.earned == 100
    assert compliance.status != "complete"
    assert compliance.remaining == 5  # hours total are met; the ELL minimum is not
    more = [*records, record("ell2", date(2019, 3, 4), "5", category="ELL")]
    assert evaluate(NY, facts, more, on=date(2020, 1, 1)).status == "complete"


def test_new_york_esol_certificate_needs_half_on_ell():
    facts = holding("esol_bilingual", date(2017, 9, 15), birth_month=3)
    compliance = evaluate(NY, facts, [], on=date(2020, 1, 1))
    ell = next(c for c in compliance.categories if c.category == "ell")
    assert ell.minimum == 50


def test_florida_needs_twenty_points_on_students_with_disabilities():
    facts = holding("professional", date(2020, 10, 15))
    records = [
        record("course", date(2021, 3, 1), semester_hours="5"),  # 100 points
        record("ese", date(2022, 3, 1), "19.5", category="ESE"),  # 19 points: whole points only
    ]
    compliance = evaluate(FL, facts, records, on=date(2023, 1, 1))
    assert compliance.unit == "inservice_point"
    swd = next(c for c in compliance.categories if c.category == "special_education")
    assert (swd.minimum, swd.earned, swd.satisfied) == (20, 19, False)
    assert compliance.remaining == 1
    done = [*records, record("ese2", date(2022, 4, 1), "1", category="ESE")]
    assert evaluate(FL, facts, done, on=date(2023, 1, 1)).status == "complete"


# Carry-over and one cycle per hour

IL_TEACHER = holding("teaching", date(2015, 10, 1))  # cycles end 2021-06-30, 2026-06-30
IL_RECORDS = [
    record("early", date(2018, 5, 1), "110"),
    record("march31", date(2021, 3, 31), "20"),
    record("april1", date(2021, 4, 1), "30"),
    record("june30", date(2021, 6, 30), "10"),
    record("next", date(2022, 2, 1), "5"),
]


def test_illinois_carries_surplus_from_april_to_june_of_the_last_year():
    ending = evaluate(IL, IL_TEACHER, IL_RECORDS, on=date(2021, 6, 30))
    assert ending.cycle.end == date(2021, 6, 30)
    # Surplus 50 (170 - 120), of which 40 was earned April 1 - June 30: those 40 move.
    assert ending.carry_out == 40
    assert ending.earned == 130
    assert ending.status == "complete"
    assert ending.outcome("june30").reason == "carried_over"
    assert ending.outcome("april1").carried_out == 30
    assert ending.outcome("march31").reason == "counted"  # before April 1: stays


def test_illinois_carry_in_counts_in_the_next_cycle_only_once():
    ending = evaluate(IL, IL_TEACHER, IL_RECORDS, on=date(2021, 6, 30))
    following = evaluate(IL, IL_TEACHER, IL_RECORDS, on=date(2022, 6, 1))
    assert following.carry_in == 40
    assert following.earned == 45
    assert following.outcome("april1").reason == "carried_in"
    assert following.outcome("april1").credited == 30
    assert following.outcome("early").reason == "outside_cycle"
    for record_id in ("april1", "june30"):
        both = ending.outcome(record_id).credited + following.outcome(record_id).credited
        assert both == ending.outcome(record_id).amount


def test_illinois_carries_only_what_exceeds_the_requirement():
    records = [record("early", date(2018, 5, 1), "100"), record("may", date(2021, 5, 1), "30")]
    ending = evaluate(IL, IL_TEACHER, records, on=date(2021, 6, 1))
    assert ending.carry_out == 10
    may = ending.outcome("may")
    assert (may.reason, may.credited, may.carried_out) == ("carried_over", 20, 10)


def test_pennsylvania_carries_at_most_fifty_hours_from_the_last_two_years():
    facts = holding("professional_educator", date(2012, 9, 1))  # 2012-09-01 .. 2017-08-31
    records = [
        record("y1", date(2013, 3, 1), "200"),
        record("two_years_before_end", date(2015, 9, 1), "60"),
    ]
    ending = evaluate(PA, facts, records, on=date(2017, 8, 31))
    assert ending.version_effective_from == date(2016, 7, 13)
    assert ending.carry_out == 50
    following = evaluate(PA, facts, records, on=date(2018, 1, 1))
    assert following.carry_in == 50


def test_pennsylvania_period_closed_before_july_2016_carries_nothing():
    facts = holding("professional_educator", date(2005, 9, 1))  # ... 2010-09-01 .. 2015-08-31
    records = [record("y1", date(2011, 3, 1), "200"), record("late", date(2015, 5, 1), "60")]
    ending = evaluate(PA, facts, records, on=date(2015, 8, 31))
    assert ending.version_effective_from == date(2000, 7, 1)
    assert ending.carry_out == 0
    assert evaluate(PA, facts, records, on=date(2016, 1, 1)).carry_in == 0


def test_new_york_carries_nothing():
    facts = holding("professional", date(2017, 9, 15), birth_month=3)
    records = [record("lots", date(2022, 3, 1), "300")]
    assert evaluate(NY, facts, records, on=date(2022, 3, 31)).carry_out == 0
    assert evaluate(NY, facts, records, on=date(2022, 4, 1)).carry_in == 0


def test_carry_over_never_breaks_a_category_minimum():
    with_minimum = edited(
        "il",
        lambda data: data["versions"][0].update(
            category_minimums=[{"category": "ell", "amount": "20"}]
        ),
    )
    records = [
        record("early", date(2018, 5, 1), "110"),
        record("ell", date(2021, 5, 1), "25", category="ell"),
        record("other", date(2021, 4, 2), "10"),
    ]
    ending = evaluate(with_minimum, IL_TEACHER, records, on=date(2021, 6, 30))
    # Surplus 25: only 5 of the ELL hours can move (20 must stay), then 10 of the other.
    assert ending.outcome("ell").carried_out == 5
    assert ending.outcome("other").carried_out == 10
    assert ending.carry_out == 15
    assert ending.status == "complete"


# Status


def tx_status(hours: str, on: date) -> str:
    records = [record("r", date(2020, 1, 2), hours)] if hours != "0" else []
    return evaluate(TX, TX_TEACHER, records, on=on).status


def test_status_from_pace():
    start, end = date(2019, 12, 10), date(2025, 3, 31)
    middle = start + (end - start) / 2
    assert tx_status("150", middle) == "complete"
    assert tx_status("80", middle) == "on_track"  # 80 over half a cycle projects past 150
    assert tx_status("50", middle) == "at_risk"  # projects ~100
    assert tx_status("20", middle) == "behind"  # projects ~40, under half of 150
    assert tx_status("0", start + timedelta(days=30)) == "at_risk"  # early: not yet behind
    assert tx_status("149", end) == "behind"  # last day, not done


def test_projection_is_reported():
    facts = holding("staff", date(2024, 7, 1))  # 2024-07-01 .. 2025-06-30: 365 days
    on = date(2024, 7, 1) + timedelta(days=72)  # 73 days elapsed: a fifth of the year
    compliance = evaluate(GENERIC, facts, [record("r", date(2024, 8, 1), "6")], on=on)
    assert compliance.projected == Decimal("30.00")
    assert compliance.status == "on_track"


def test_records_may_arrive_as_any_iterable():
    records = (record(f"r{i}", date(2021, 1, 1 + i), "10") for i in range(3))
    assert evaluate(TX, TX_TEACHER, records, on=TX_MID).earned == 30
