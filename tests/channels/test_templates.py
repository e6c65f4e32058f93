"""Templates fill named fields and nothing else: no attribute access, indexing, format specs or code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cssc_core.channels.templates import FIELDS, Escape, HeaderInjectionError, Template
from cssc_core.errors import ValidationError


def test_placeholders_are_filled_and_braces_escaped() -> None:
    template = Template.parse("{{literal}} {headline}: {body}!")
    assert template.names == {"headline", "body"}
    assert template.render({"headline": "H", "body": "B"}) == "{literal} H: B!"


@pytest.mark.parametrize(
    "source",
    [
        "{headline.__class__}",
        "{headline.__class__.__mro__[1].__subclasses__()}",
        "{body[0]}",
        "{sent:%Y}",
        "{headline!r}",
        "{0}",
        "{}",
        "{ headline }",
        "{__import__('os').system('id')}",
        "{password}",
        "{unknown_field}",
        "{headline",
        "headline}",
    ],
)
def test_anything_but_a_known_field_name_is_refused(source: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Template.parse(source, "$.channels.email.body_template")
    assert caught.value.problems[0].path == "$.channels.email.body_template"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        Template.parse("{a.b} {c[0]} {nope}")
    message = caught.value.problems[0].message
    assert "{a.b}" in message
    assert "{c[0]}" in message
    assert "{nope}" in message


@given(st.text())
def test_values_are_never_read_as_templates(value: str) -> None:
    template = Template.parse("<{headline}|{body}>")
    assert template.render({"headline": value, "body": "{headline}"}) == f"<{value}|{{headline}}>"


@given(st.text(alphabet="{}ab_. [0]:!", max_size=20))
def test_parsing_any_text_either_works_or_raises_a_validation_error(source: str) -> None:
    try:
        template = Template.parse(source)
    except ValidationError:
        return
    assert template.names <= FIELDS
    if not template.names:
        assert template.render({}) == source.replace("{{", "{").replace("}}", "}")


def test_a_partial_render_leaves_the_other_fields_for_later() -> None:
    template = Template.parse("{headline} for {contact_name}")
    partial = template.partial({"headline": "{contact_name}"})
    assert partial.render({"contact_name": "Sam"}) == "{contact_name} for Sam"


@pytest.mark.parametrize("value", ["a\r\nBcc: x@example.org", "a\nb", "a\rb", "a\0b"])
def test_header_escaping_refuses_line_breaks_and_nul(value: str) -> None:
    template = Template.parse("[TLP:GREEN] {headline}")
    with pytest.raises(HeaderInjectionError):
        template.render({"headline": value}, Escape.HEADER)
    assert template.render({"headline": value}) == f"[TLP:GREEN] {value}"
