"""Read an auto-submitting form the way a browser would: its action and its fields."""

from __future__ import annotations

from html.parser import HTMLParser


class FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.actions: list[str] = []
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.actions.append(values.get("action", ""))
        if tag == "input" and "name" in values:
            self.fields[values["name"]] = values.get("value", "")


def read_form(page: str) -> tuple[str, dict[str, str]]:
    reader = FormReader()
    reader.feed(page)
    assert len(reader.actions) == 1, reader.actions
    return reader.actions[0], reader.fields
