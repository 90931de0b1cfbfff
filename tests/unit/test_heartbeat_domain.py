"""Heartbeat questions, configuration rules, library ranking and answer validation."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.heartbeat import (
    CUSTOMER_SENTIMENT,
    DEFAULT_CHOSEN_IDS,
    FIXED_QUESTIONS,
    LIBRARY,
    LIBRARY_BY_ID,
    OVERALL_SATISFACTION,
    CustomQuestionInput,
    FieldError,
    custom_question,
    custom_question_id,
    is_round_due,
    next_round_due,
    rank_library,
    survey_questions,
    validate_answers,
    validate_config,
)


def codes(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in errors}


def test_fixed_questions_and_company_substitution() -> None:
    assert OVERALL_SATISFACTION.scale_min == 0 and OVERALL_SATISFACTION.scale_max == 10
    rendered = CUSTOMER_SENTIMENT.render("Acme {Ltd}")
    assert [o.text for o in rendered.options] == [
        "I would go out of my way to recommend Acme {Ltd}",
        "I would recommend Acme {Ltd} if asked",
        "I would not feel comfortable recommending Acme {Ltd}",
    ]
    assert [o.id for o in rendered.options] == ["love", "like", "not_satisfied"]


def test_library_is_about_twenty_unique_0_to_10_questions() -> None:
    assert 18 <= len(LIBRARY) <= 25
    assert len({q.id for q in LIBRARY}) == len(LIBRARY)
    assert all(q.scale_min == 0 and q.scale_max == 10 and q.kind == "scale" for q in LIBRARY)
    assert not {q.id for q in FIXED_QUESTIONS} & set(LIBRARY_BY_ID)
    assert set(DEFAULT_CHOSEN_IDS) <= set(LIBRARY_BY_ID)


def test_survey_has_six_questions_fixed_first() -> None:
    chosen = [LIBRARY_BY_ID[i] for i in DEFAULT_CHOSEN_IDS]
    qs = survey_questions(chosen, "Acme")
    assert len(qs) == 6 and qs[:2] == tuple(q.render("Acme") for q in FIXED_QUESTIONS)
    assert all("{company}" not in q.text for q in qs)


def test_valid_configs() -> None:
    assert validate_config(list(DEFAULT_CHOSEN_IDS), None, 90) == []
    ids = list(DEFAULT_CHOSEN_IDS[:3])
    assert validate_config(ids, CustomQuestionInput("How fast do we invoice?"), 30) == []
    assert validate_config(ids, [CustomQuestionInput("x")], 365) == []


def test_config_counts_and_duplicates() -> None:
    three = list(DEFAULT_CHOSEN_IDS[:3])
    assert ("question_ids", "wrong_count") in codes(validate_config(three, None, 90))
    five = [*DEFAULT_CHOSEN_IDS, "trust"]
    assert ("question_ids", "wrong_count") in codes(validate_config(five, None, 90))
    dup = [*three, three[0]]
    assert ("question_ids[3]", "duplicate") in codes(validate_config(dup, None, 90))
    unknown = [*three, "nope"]
    assert ("question_ids[3]", "unknown_question") in codes(validate_config(unknown, None, 90))
    fixed = [*three, "overall_satisfaction"]
    assert ("question_ids[3]", "unknown_question") in codes(validate_config(fixed, None, 90))


def test_config_custom_rules() -> None:
    two = list(DEFAULT_CHOSEN_IDS[:2])
    errs = validate_config(two, [CustomQuestionInput("a"), CustomQuestionInput("b")], 90)
    assert ("custom", "too_many_custom") in codes(errs)
    three = list(DEFAULT_CHOSEN_IDS[:3])
    assert ("custom.text", "too_long") in codes(
        validate_config(three, CustomQuestionInput("x" * 201), 90)
    )
    assert validate_config(three, CustomQuestionInput("x" * 200), 90) == []
    assert ("custom.text", "required") in codes(
        validate_config(three, CustomQuestionInput("   "), 90)
    )
    assert ("custom.scale", "invalid_scale") in codes(
        validate_config(three, CustomQuestionInput("ok?", 1, 5), 90)
    )


def test_adopted_custom_question_can_be_chosen_and_not_duplicated() -> None:
    text = "How well do we handle invoices?"
    cid = custom_question_id(text)
    assert cid == custom_question_id("  how well do WE handle   invoices? ")
    known = {*LIBRARY_BY_ID, cid}
    three = list(DEFAULT_CHOSEN_IDS[:3])
    assert validate_config([*three, cid], None, 90, known_ids=known) == []
    errs = validate_config([*three[:2], cid], CustomQuestionInput(text), 90, known_ids=known)
    assert ("custom.text", "duplicate") in codes(errs)
    q = custom_question(CustomQuestionInput(f" {text} "))
    assert q.custom and q.id == cid and q.text == text


@pytest.mark.parametrize(("days", "ok"), [(29, False), (30, True), (365, True), (366, False)])
def test_interval_bounds(days: int, ok: bool) -> None:
    errs = validate_config(list(DEFAULT_CHOSEN_IDS), None, days)
    assert (errs == []) is ok
    if not ok:
        assert codes(errs) == {("interval_days", "out_of_range")}


def test_rank_library_by_usage_then_id() -> None:
    ranked = rank_library({"trust": 7, "results": 7, "expertise": 9, "unknown": 50})
    assert [r.question.id for r in ranked[:3]] == ["expertise", "results", "trust"]
    assert [r.rank for r in ranked[:3]] == [1, 2, 3]
    assert ranked[0].tenants_using == 9
    assert len(ranked) == len(LIBRARY)  # unknown ids are ignored, every library question listed
    rest = [r.question.id for r in ranked[3:]]
    assert rest == sorted(rest) and all(r.tenants_using == 0 for r in ranked[3:])


def test_validate_answers() -> None:
    qs = survey_questions([LIBRARY_BY_ID[i] for i in DEFAULT_CHOSEN_IDS], "Acme")
    good: dict[str, object] = {q.id: 7 for q in qs}
    good["customer_sentiment"] = "like"
    assert validate_answers(qs, good) == []
    bad = dict(good)
    bad.update(
        overall_satisfaction=11, responsiveness=True, quality_of_work="9", customer_sentiment="meh"
    )
    del bad["communication"]
    bad["extra"] = 3
    assert codes(validate_answers(qs, bad)) == {
        ("answers.overall_satisfaction", "out_of_range"),
        ("answers.responsiveness", "invalid_type"),
        ("answers.quality_of_work", "invalid_type"),
        ("answers.customer_sentiment", "invalid_choice"),
        ("answers.communication", "required"),
        ("answers.extra", "unknown_question"),
    }
    partial = {"overall_satisfaction": 0}
    assert validate_answers(qs, partial, required=False) == []


def test_next_round_due() -> None:
    today = date(2025, 3, 1)
    assert next_round_due(None, 90, today) == today
    assert next_round_due(date(2025, 1, 1), 90, today) == date(2025, 4, 1)
    assert not is_round_due(date(2025, 1, 1), 90, today)
    assert is_round_due(date(2024, 11, 1), 90, today)  # overdue stays due
    assert is_round_due(None, 30, today)
    with pytest.raises(ValueError):
        next_round_due(None, 0, today)
