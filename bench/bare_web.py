"""The bare Flask baseline of the web benchmark, served by the same gunicorn configuration:
a page rendering a template of the inbox page's size (BENCH_PAGE_BYTES), and a form POST
that reads the form and redirects, as the referral form does."""

from __future__ import annotations

import os

from flask import Flask, redirect, render_template_string, request

ROW = ("<tr><td>{{ row.reference }}</td><td>{{ row.need }}</td><td>{{ row.urgency }}</td>"
       "<td>{{ row.sender }}</td><td>{{ row.due }}</td></tr>\n")
TEMPLATE = ("<!doctype html><html lang=\"de\"><head><title>{{ title }}</title></head><body>"
            "<table>{% for row in rows %}" + ROW + "{% endfor %}</table>{{ pad }}</body></html>")


def _rows(size: int) -> tuple[list[dict[str, str]], str]:
    row = {"reference": "CB-2026-00042", "need": "health.psychosocial", "urgency": "urgent",
           "sender": "Flüchtlingssozialarbeit GU Sachsendorf", "due": "2026-11-24T16:00:00"}
    one = len(render_template_string(ROW, row=row).encode())
    count = max(0, (size - 200) // one)
    rows = [row] * count
    page = render_template_string(TEMPLATE, title="Eingang", rows=rows, pad="")
    return rows, "x" * max(0, size - len(page.encode()))


app = Flask(__name__)
with app.app_context():
    ROWS, PAD = _rows(int(os.environ.get("BENCH_PAGE_BYTES", "20000")))


@app.get("/seite")
def page() -> str:
    return render_template_string(TEMPLATE, title="Eingang", rows=ROWS, pad=PAD)


@app.post("/formular")
def form() -> object:
    if not request.form.get("idempotency_key"):
        return "missing", 422
    return redirect("/seite", code=303)
