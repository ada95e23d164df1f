"""A closed month's settlement export as finance opens it: in a real spreadsheet program.

Gnumeric's `ssconvert` reads the XLSX and the CSV the served demo exports (as `GET
/api/v1/settlements?format=...` streams them) and writes them back out; what it understood is
checked against the JSON settlement of the same month:

- the XLSX has the sheets `Settlement` and `Reconciliation`; every money cell and count is a
  number to the spreadsheet (so a column can be summed), each date a date, each text a text;
  each station's detail rows sum to its summary row and the summary rows to the total, as a
  user's SUM would; the reconciliation's `ok` cells are booleans, all TRUE, matching the JSON;
- the CSV opens with one header row (its byte-order mark not part of the first name), every row
  as wide as the header, and the same totals.

Usage: spreadsheet.py BASE_URL WORK_DIR
"""

import csv
import datetime
import gzip
import json
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

GNM = "{http://www.gnumeric.org/v10.dtd}"
# Gnumeric's value types
FLOAT, STRING, BOOLEAN = "40", "60", "20"
MONEY = ["labour", "parts_sold", "warranty_parts", "parts_at_cost", "overdue_cores", "adjustments", "net_payable"]


def fail(msg):
    print(f"spreadsheet: {msg}")
    sys.exit(1)


def call(base, path, token=None, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        return r.read()


def closed_month(base, token):
    """The latest closed month of the demo, with its JSON settlement."""
    day = datetime.date.today().replace(day=1)
    for _ in range(6):
        day = (day - datetime.timedelta(days=1)).replace(day=1)
        period = day.strftime("%Y-%m")
        out = json.loads(call(base, f"/api/v1/settlements?period={period}", token))
        if out["status"] == "closed" and out["stations"]:
            return period, out
    fail("the demo has no closed month with a station in the last six")


def run(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(args)}: {r.stderr.strip()}")


def sheets(gnumeric):
    """Each sheet of a Gnumeric file: name -> {(row, col): (value type, text)}."""
    root = ET.fromstring(gzip.open(gnumeric).read())
    out = {}
    for sheet in root.iter(f"{GNM}Sheet"):
        cells = {}
        for c in sheet.iter(f"{GNM}Cell"):
            cells[(int(c.get("Row")), int(c.get("Col")))] = (c.get("ValueType"), c.text or "")
        out[sheet.find(f"{GNM}Name").text] = cells
    return out


def rows_of(cells):
    height = max(r for r, _ in cells) + 1
    width = max(c for _, c in cells) + 1
    return [[cells.get((r, c), ("10", "")) for c in range(width)] for r in range(height)]


def check_sums(rows, header, value, where):
    """Detail rows sum to their station's summary, summaries to the total; returns the total."""
    col = {name: i for i, name in enumerate(header)}
    details, summaries, total = {}, {}, None
    for r in rows:
        kind, station = value(r[col["row_type"]]), value(r[col["station"]])
        # the spreadsheet holds binary floats: a sum is read as its cell shows it, to the cent
        figures = {m: Decimal(value(r[col[m]]) or "0") for m in MONEY}
        if kind == "detail":
            acc = details.setdefault(station, {m: Decimal(0) for m in MONEY})
            for m in MONEY:
                acc[m] += figures[m]
        elif kind == "summary":
            summaries[station] = figures
        elif kind == "total":
            total = figures
    if total is None or not summaries:
        fail(f"{where}: no summary or total row")
    cents = lambda figures: {m: round(v, 2) for m, v in figures.items()}  # noqa: E731
    details = {station: cents(d) for station, d in details.items()}
    summaries = {station: cents(s) for station, s in summaries.items()}
    total = cents(total)
    for station, s in summaries.items():
        if details.get(station) != s:
            fail(f"{where}: {station}'s detail rows sum to {details.get(station)}, its summary says {s}")
    summed = cents({m: sum(s[m] for s in summaries.values()) for m in MONEY})
    if summed != total:
        fail(f"{where}: the summaries sum to {summed}, the total row says {total}")
    return total


def check_xlsx(path, work, expected):
    gnumeric = work / "settlement.gnumeric"
    run("ssconvert", "--export-type=Gnumeric_XmlIO:sax", str(path), str(gnumeric))
    book = sheets(gnumeric)
    if list(book) != ["Settlement", "Reconciliation"]:
        fail(f"the XLSX's sheets are {list(book)}")
    rows = rows_of(book["Settlement"])
    header = [t for _, t in rows[0]]
    col = {name: i for i, name in enumerate(header)}
    for name in MONEY + ["parts_qty", "date", "row_type", "station", "reference"]:
        if name not in col:
            fail(f"the Settlement sheet has no column {name}: {header}")
    details = [r for r in rows[1:] if r[col["row_type"]][1] == "detail"]
    if not details:
        fail("the Settlement sheet has no detail row")
    for r in rows[1:]:
        for name in MONEY + ["parts_qty"]:
            kind, text = r[col[name]]
            if kind != FLOAT:
                fail(f"{name} of {r[col['reference']][1] or r[col['row_type']][1]} is not a number to the spreadsheet: {kind} {text!r}")
    for r in details:
        # a date is a number (a serial day) with a date format
        kind, text = r[col["date"]]
        if kind != FLOAT:
            fail(f"the date of {r[col['reference']][1]} is not a date to the spreadsheet: {kind} {text!r}")
        if r[col["reference"]][0] != STRING:
            fail(f"the reference of a detail row is not text: {r[col['reference']]}")
    total = check_sums(rows[1:], header, lambda cell: cell[1], "XLSX")
    if total["net_payable"] != Decimal(expected["totals"]["net_payable"]):
        fail(f"the XLSX's total net payable {total['net_payable']} is not the JSON's {expected['totals']['net_payable']}")
    recon = rows_of(book["Reconciliation"])
    rhead = [t for _, t in recon[0]]
    if rhead[:1] != ["check"] or "ok" not in rhead:
        fail(f"the Reconciliation sheet's header is {rhead}")
    ok = rhead.index("ok")
    checks = {r[0][1]: r[ok] for r in recon[1:]}
    if sorted(checks) != sorted(c["name"] for c in expected["reconciliation"]):
        fail(f"the Reconciliation sheet's checks are {sorted(checks)}")
    for name, (kind, text) in checks.items():
        if kind != BOOLEAN or text.upper() != "TRUE":
            fail(f"reconciliation {name}: ok is {kind} {text!r}, not the boolean TRUE")
    return len(details)


def check_csv(path, work, expected):
    back = work / "settlement-back.csv"
    run("ssconvert", str(path), str(back))
    with open(back, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    if header[0] != "period":
        fail(f"the CSV's first column reads {header[0]!r} in the spreadsheet (a byte-order mark shown?)")
    ragged = [i for i, r in enumerate(rows) if len(r) != len(header)]
    if ragged:
        fail(f"CSV rows {ragged[:5]} are not {len(header)} cells wide")
    body = [r for r in rows[1:] if r[header.index("row_type")] != "reconciliation"]
    total = check_sums(body, header, lambda cell: cell, "CSV")
    if total["net_payable"] != Decimal(expected["totals"]["net_payable"]):
        fail(f"the CSV's total net payable {total['net_payable']} is not the JSON's")
    return len(rows)


def main():
    base, work = sys.argv[1], Path(sys.argv[2])
    token = json.loads(call(base, "/api/v1/auth/login", body={"username": "finance", "password": "echelon-demo"}))[
        "access_token"
    ]
    period, expected = closed_month(base, token)
    xlsx, csv_file = work / "settlement.xlsx", work / "settlement.csv"
    xlsx.write_bytes(call(base, f"/api/v1/settlements?period={period}&format=xlsx", token))
    csv_file.write_bytes(call(base, f"/api/v1/settlements?period={period}&format=csv", token))
    details = check_xlsx(xlsx, work, expected)
    rows = check_csv(csv_file, work, expected)
    print(f"spreadsheet: the settlement of {period} opens in Gnumeric: XLSX {details} detail rows, CSV {rows} rows; sums agree")


if __name__ == "__main__":
    main()
