"""CSV and the printable transcript; the renewal chart slot renders its numbers as text too."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from ler_plugin.web.render import environment
from ler_plugin.web.slots import RenewalProgress
from tests.pages.world import XSS, World, client


def test_csv_of_my_wallet_only_with_formulas_defused(live_server, world: World) -> None:
    with client(live_server.url) as http:
        response = http.get("/app/wallet/export.csv", params={"session": world.teacher})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    titles = {r["title"] for r in rows}
    assert {"Literacy workshop", XSS, "Private coaching notes"} <= titles
    assert "Someone else's seminar" not in titles
    workshop = next(r for r in rows if r["title"] == "Literacy workshop")
    assert workshop["clock_hours"] == "6.00" and workshop["status"] == "approved"
    assert workshop["skills"] == "Phonics; Guided reading"


def test_formula_cells_are_quoted() -> None:
    from ler_plugin.wallet.export import _cell

    assert _cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _cell("-2+3") == "'-2+3"
    assert _cell("Plain") == "Plain" and _cell(None) == ""


def test_transcript_is_print_ready(live_server, world: World) -> None:
    with client(live_server.url) as http:
        response = http.get("/app/wallet/transcript", params={"session": world.teacher})
    html = response.text
    assert response.status_code == 200
    assert "Professional learning transcript" in html and "Ada Lovelace" in html
    assert "TX Standard Classroom Teacher, no. TX-1234567, expires Jun 30, 2027" in html
    counted = html.index("Approved and verified learning")
    assert "Literacy workshop" in html[counted:] and XSS not in html
    # Totals of what counts: 6 h workshop + 2 h verified badge + 3 h private (approved) = 11 h.
    assert '<td class="num">11</td>' in html
    assert "data-print" in html and 'class="no-print actions"' in html


def test_progress_chart_has_text_equivalents() -> None:
    template = environment.from_string(
        '{% from "macros.html" import progress_chart %}{{ progress_chart(p) }}'
    )
    html = template.render(
        p=RenewalProgress(
            required=Decimal("150"),
            earned=Decimal("37.5"),
            unit="clock hours",
            status="behind",
            status_label="Behind: 112.5 hours to go",
            cycle_ends_on=dt.date(2027, 6, 30),
        )
    )
    assert '<svg class="progress-bar"' in html and 'role="img"' in html
    assert '<title id="progress-label">37.5 of 150 clock hours earned (25%)</title>' in html
    assert '<rect x="0" y="0" width="25" height="10"' in html
    for text in (
        "Required</dt><dd>150 clock hours",
        "Remaining</dt><dd>112.5 clock hours",
        "Behind: 112.5 hours to go",
        "Jun 30, 2027",
    ):
        assert text in html
