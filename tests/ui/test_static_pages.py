"""The pages' own files keep to the rules that make hostile text harmless: the script
never turns text into markup or code, and the pages hold no inline script, style or
event handler (the Content-Security-Policy would refuse them anyway)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from memorygraph.ui.assets import STATIC

PAGES = sorted(STATIC.glob("*.html"))
#: What would parse or run a string: none of it may appear in the pages' script.
MARKUP_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setTimeout\(\s*[\"'`]|setInterval\(\s*[\"'`]"
)


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("a script without src")
        if tag == "style":
            self.found.append("a style element")
        self.found += [
            f"{tag}[{name}]" for name in names if name == "style" or name.startswith("on")
        ]
        for name, value in attrs:
            if (
                name in ("href", "src")
                and value
                and value.strip().lower().startswith("javascript:")
            ):
                self.found.append(f"{tag}[{name}=javascript:]")


def test_the_script_has_no_markup_sink() -> None:
    script = (STATIC / "app.js").read_text()
    assert MARKUP_SINKS.findall(script) == []
    assert "textContent" in script


def test_the_pages_are_found() -> None:
    assert {p.name for p in PAGES} >= {"index.html", "memory.html", "migrations.html"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_has_nothing_inline(page: Path) -> None:
    parser = _Inline()
    parser.feed(page.read_text())
    assert parser.found == []
