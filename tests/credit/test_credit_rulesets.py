"""Shipped rulesets load and cite their sources; bad files fail naming the field."""

import json
from importlib import resources

import pytest

from ler_plugin.credit import CreditError, load_ruleset, parse_ruleset, shipped_rulesets


def shipped_json(name: str) -> dict:
    text = resources.files("ler_plugin.credit").joinpath(f"rulesets/{name}.json").read_text()
    return json.loads(text)


def test_every_state_and_the_generic_template_are_shipped():
    assert set(shipped_rulesets()) >= {"tx", "ny", "il", "fl", "pa", "ca", "generic"}


@pytest.mark.parametrize("name", ["tx", "ny", "il", "fl", "pa", "ca", "generic"])
def test_shipped_ruleset_loads_and_every_rule_cites_a_source(name):
    ruleset = load_ruleset(name)
    assert ruleset.id == name
    assert ruleset.cycle.sources
    for version in ruleset.versions:
        assert version.sources
        assert all(source.url.startswith("https://") and source.cite for source in version.sources)


def test_operator_copies_and_edits_a_ruleset(tmp_path):
    data = shipped_json("generic")
    data["id"] = "springfield"
    data["versions"][0]["credential_classes"]["staff"]["required"] = "30"
    path = tmp_path / "springfield.json"
    path.write_text(json.dumps(data))
    ruleset = load_ruleset(path)
    assert ruleset.id == "springfield"
    assert ruleset.versions[0].credential_classes["staff"].required == 30


def broken(edit) -> CreditError:
    data = shipped_json("tx")
    edit(data)
    with pytest.raises(CreditError) as caught:
        parse_ruleset(data, origin="tx.json")
    assert caught.value.code == "invalid_ruleset"
    return caught.value


def test_wrong_requirement_names_its_field():
    def edit(data):
        data["versions"][0]["credential_classes"]["classroom_teacher"]["required"] = "lots"

    error = broken(edit)
    assert error.field == "versions[0].credential_classes.classroom_teacher.required"
    assert "tx.json" in error.message and "lots" in error.message


def test_typo_in_a_key_is_refused_rather_than_ignored():
    def edit(data):
        data["versions"][0]["category_capz"] = data["versions"][0].pop("category_caps")

    assert broken(edit).field == "versions[0].category_capz"


def test_missing_field_is_named():
    assert broken(lambda data: data["cycle"].pop("anchor")).field == "cycle.anchor"


def test_unknown_category_is_named():
    def edit(data):
        data["versions"][0]["category_caps"][0]["category"] = "basket_weaving"

    assert broken(edit).field == "versions[0].category_caps[0].category"


def test_percent_over_100_is_refused():
    def edit(data):
        data["versions"][0]["category_caps"][0]["percent"] = "120"

    assert broken(edit).field == "versions[0].category_caps[0].percent"


def test_bad_anchor_and_bad_date():
    assert broken(lambda data: data["cycle"].update(anchor="moon")).field == "cycle.anchor"

    def edit(data):
        data["versions"][0]["effective_from"] = "2013-02-30"

    assert broken(edit).field == "versions[0].effective_from"


def test_versions_must_be_oldest_first():
    def edit(data):
        newer = json.loads(json.dumps(data["versions"][0]))
        newer["effective_from"] = "2010-01-01"
        data["versions"].append(newer)

    assert broken(edit).field == "versions[1].effective_from"


def test_own_unit_must_be_worth_one():
    def edit(data):
        data["versions"][0]["units"]["clock_hour"] = "2"

    assert broken(edit).field == "versions[0].units.clock_hour"


def test_class_needs_required_or_exempt():
    def edit(data):
        data["versions"][0]["credential_classes"]["educational_aide"]["required"] = "10"

    assert broken(edit).field == "versions[0].credential_classes.educational_aide"


def test_carry_over_window_needs_one_form():
    def edit(data):
        data["versions"][0]["carry_over"] = {"max": "10"}

    assert broken(edit).field == "versions[0].carry_over"


def test_limit_for_an_unknown_class_is_named():
    def edit(data):
        data["versions"][0]["category_caps"][0]["credential_classes"] = ["wizard"]

    assert broken(edit).field == "versions[0].category_caps[0].credential_classes"


def test_missing_file_and_bad_json(tmp_path):
    with pytest.raises(CreditError) as caught:
        load_ruleset(tmp_path / "nope.json")
    assert caught.value.code == "ruleset_not_found"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1,')
    with pytest.raises(CreditError) as caught:
        load_ruleset(bad)
    assert caught.value.code == "ruleset_unreadable"
    assert "line 1" in caught.value.message


def test_unsupported_format_is_refused():
    assert broken(lambda data: data.update(format=2)).field == "format"
