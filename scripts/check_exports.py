"""Read a period's exports back the way finance opens them and recompute every total.

- gstr1.json: validated against tests/fixtures/gstr1.schema.json (written from the portal's
  offline-tool format); every section recomputed from the documents tables (pyarrow), to the
  paisa, per place of supply and rate; doc_issue against the register.
- finance.xlsx: opened with openpyxl (sheets, frozen headers, filters, sheet totals equal to
  the Parquet; customer text is a string cell, never a formula) and converted to CSV by
  LibreOffice headless (every sheet), whose totals must agree too.
- csv/: every table, exact decimals, equal to the Parquet; hostile text neutralised.
- statements/: per customer, billed calls sum to the invoice's call lines.

Usage: check_exports.py OUT PERIOD (every OUT/YYYY-MM/gstr1.json is checked too)
"""

import csv
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal

import jsonschema
import openpyxl
import pyarrow.parquet as pq

out, period = sys.argv[1], sys.argv[2]
here = os.path.join(out, period)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CENT = Decimal("0.01")
checked = []


def table(name, p=period):
    return pq.read_table(os.path.join(out, "parquet", name, f"period={p}", "part-0.parquet")).to_pylist()


def dec(v):
    return Decimal(str(v)) if v is not None else Decimal(0)


# ---------------------------------------------------------------- gstr1.json
schema = json.load(open(os.path.join(root, "tests", "fixtures", "gstr1.schema.json")))
docs = []
for f in glob.glob(os.path.join(out, "parquet", "documents", "period=*", "part-0.parquet")):
    docs.extend(pq.read_table(f).to_pylist())
by_number = {d["number"]: d for d in docs}
sign = lambda d: Decimal(-1) if d["kind"] == "credit_note" else Decimal(1)
lines = []
for f in glob.glob(os.path.join(out, "parquet", "document_lines", "period=*", "part-0.parquet")):
    lines.extend(pq.read_table(f).to_pylist())
register = json.load(open(os.path.join(out, "state", "invoice-register.json")))


def money_ok(node):
    if isinstance(node, dict):
        for v in node.values():
            money_ok(v)
    elif isinstance(node, list):
        for v in node:
            money_ok(v)
    elif isinstance(node, Decimal):
        assert node.as_tuple().exponent == -2, f"{node} is not written with two decimals"


def b2c_large(inv):
    limit = Decimal(100000) if inv["date"].isoformat() >= "2024-08-01" else Decimal(250000)
    return inv["treatment"] == "inter_state" and dec(inv["total"]) > limit


def section_of(d):
    if d["b2b"] and d["gstin"]:
        return "b2b" if d["kind"] == "invoice" else "cdnr"
    inv = d if d["kind"] == "invoice" else by_number[d["cites_number"]]
    if inv["treatment"] == "export_under_lut":
        return "exp" if d["kind"] == "invoice" else "cdnur"
    if b2c_large(inv):
        return "b2cl" if d["kind"] == "invoice" else "cdnur"
    return "b2cs"


def check_gstr1(month):
    """The return of `month` (YYYY-MM): schema, every section recomputed, Table 13."""
    raw = open(os.path.join(out, month, "gstr1.json"), encoding="utf-8").read()
    g = json.loads(raw)
    jsonschema.validate(g, schema)
    money_ok(json.loads(raw, parse_float=Decimal))
    y, m = map(int, month.split("-"))
    assert g["fp"] == f"{m:02d}{y}"
    dated = [d for d in docs if d["date"].year == y and d["date"].month == m]
    issued = [d for d in dated if d["status"] == "issued"]

    # Expected per section and (pos, rate): taxable and each tax; b2cs nets its notes, the
    # note tables carry them unsigned with their type (C or D).
    want = defaultdict(lambda: [Decimal(0)] * 4)
    for d in issued:
        key = (section_of(d), f"{d['place_of_supply_code']:02d}", dec(d["rate_percent"]).normalize())
        s = sign(d) if key[0] in ("b2cs", "cdnr", "cdnur") else Decimal(1)
        for i, col in enumerate(["taxable", "igst", "cgst", "sgst"]):
            want[key][i] += s * dec(d[col])
    got = defaultdict(lambda: [Decimal(0)] * 4)

    def add(section, pos, det, s=Decimal(1)):
        k = (section, pos, Decimal(str(det["rt"])).normalize())
        for i, col in enumerate(["txval", "iamt", "camt", "samt"]):
            got[k][i] += s * Decimal(str(det.get(col, 0)))

    for b in g["b2b"]:
        for inv in b["inv"]:
            for it in inv["itms"]:
                add("b2b", inv["pos"], it["itm_det"])
    for b in g["b2cl"]:
        for inv in b["inv"]:
            for it in inv["itms"]:
                add("b2cl", b["pos"], it["itm_det"])
    for row in g["b2cs"]:
        add("b2cs", row["pos"], row)
    for e in g["exp"]:
        for inv in e["inv"]:
            for it in inv["itms"]:
                add("exp", f"{by_number[inv['inum']]['place_of_supply_code']:02d}", it)
    for c in g["cdnr"]:
        for nt in c["nt"]:
            for it in nt["itms"]:
                add("cdnr", nt["pos"], it["itm_det"], Decimal(-1 if nt["ntty"] == "C" else 1))
    for nt in g["cdnur"]:
        for it in nt["itms"]:
            add("cdnur", nt["pos"], it["itm_det"], Decimal(-1 if nt["ntty"] == "C" else 1))
    want = {k: [v.quantize(CENT) for v in vs] for k, vs in want.items()}
    got = {k: [v.quantize(CENT) for v in vs] for k, vs in got.items()}
    assert got == want, f"GSTR-1 {month} differs from the documents:\n got {got}\nwant {want}"
    notes = sum(d["kind"] != "invoice" for d in issued)
    checked.append(f"gstr1 {month}: schema; sections = documents per place of supply and rate "
                   f"({len(want)} groups, {len(issued)} documents, {notes} notes)")

    # HSN: every line of the documents filed, notes signed, B2B and B2C apart.
    numbers = {d["number"]: d for d in issued}
    hsn_want = defaultdict(Decimal)
    for l in lines:
        d = numbers.get(l["number"])
        if d:
            part = "hsn_b2b" if d["b2b"] and d["gstin"] else "hsn_b2c"
            hsn_want[part] += sign(d) * dec(l["taxable"])
    for p in ("hsn_b2b", "hsn_b2c"):
        got_p = sum((Decimal(str(r["txval"])) for r in g["hsn"][p]), Decimal(0))
        assert got_p == hsn_want[p].quantize(CENT), (month, p, got_p, hsn_want[p])

    # Table 13 against the register.
    reg_docs = [e for e in register["documents"].values() if e["date"].startswith(f"{y:04d}-{m:02d}")]
    kinds = {"invoice": 1, "debit_note": 4, "credit_note": 5}
    series = defaultdict(list)
    for e in reg_docs:
        series[(kinds[e["kind"]], e["number"].rsplit("/", 1)[0])].append(e)
    want13 = sorted(
        (k[0], min(x["number"] for x in v), max(x["number"] for x in v), len(v),
         sum(x["status"] == "cancelled" for x in v))
        for k, v in series.items())
    got13 = sorted((d["doc_num"], s["from"], s["to"], s["totnum"], s["cancel"])
                   for d in g["doc_issue"]["doc_det"] for s in d["docs"])
    assert got13 == want13, (month, got13, want13)
    checked.append(f"gstr1 {month}: hsn = document lines; doc_issue = the register ({len(reg_docs)} documents)")


returns = sorted(os.path.basename(os.path.dirname(f)) for f in glob.glob(os.path.join(out, "*", "gstr1.json")))
assert period in returns, returns
for month in returns:
    check_gstr1(month)

# ---------------------------------------------------------------- finance.xlsx
xlsx = os.path.join(here, "finance.xlsx")
wb = openpyxl.load_workbook(xlsx)
assert wb.sheetnames == ["Invoices", "Lines", "Notes", "HSN summary", "Reconciliation",
                         "Exceptions", "Balances", "Subaccounts", "Documents"], wb.sheetnames
sheet_tables = {"Invoices": "invoices", "Lines": "invoice_lines", "Reconciliation": "reconciliation",
                "Exceptions": "exceptions", "Balances": "balances", "Subaccounts": "subaccounts",
                "Documents": "documents"}
hostile_cells = 0
for ws in wb.worksheets:
    assert ws.freeze_panes == "A2", (ws.title, ws.freeze_panes)
    assert ws.auto_filter.ref, f"{ws.title} has no filter"
    for row in ws.iter_rows():
        for c in row:
            # The hostile company's formula, and the hostile subaccount's name (`=1+2 …`).
            if isinstance(c.value, str) and ("HYPERLINK(" in c.value or c.value.startswith("=1+2")):
                assert c.data_type == "s", f"{ws.title}!{c.coordinate} is a formula"
                hostile_cells += 1


def sheet_sums(ws):
    header = [c.value for c in ws[1]]
    sums = defaultdict(Decimal)
    rows = 0
    for row in ws.iter_rows(min_row=2, values_only=True):
        rows += 1
        for h, v in zip(header, row):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                sums[h] += Decimal(str(v))
    return rows, sums


for sheet, name in sheet_tables.items():
    rows = table(name)
    n, sums = sheet_sums(wb[sheet])
    assert n == len(rows), (sheet, n, len(rows))
    for col, v in sums.items():
        if col in rows[0] and isinstance(rows[0][col], Decimal):
            exact_sum = sum((r[col] for r in rows if r[col] is not None), Decimal(0))
            # A cell is a double: each holds its value to ~15 digits; the sum of cells is
            # compared to the exact sum to the paisa.
            assert abs(v - exact_sum) < CENT, (sheet, col, v, exact_sum)
# The HSN sheet is the return's Table 12.
g_month = json.load(open(os.path.join(here, "gstr1.json")))
n, sums = sheet_sums(wb["HSN summary"])
assert n == len(g_month["hsn"]["hsn_b2b"]) + len(g_month["hsn"]["hsn_b2c"]), n
hsn_total = sum((Decimal(str(r["txval"])) for p in ("hsn_b2b", "hsn_b2c") for r in g_month["hsn"][p]), Decimal(0))
assert abs(sums["taxable"] - hsn_total) < CENT, (sums["taxable"], hsn_total)
notes = [d for d in table("documents") if d["kind"] != "invoice"]
n, sums = sheet_sums(wb["Notes"])
assert n == len(notes), (n, len(notes))
checked.append(f"finance.xlsx: 9 sheets, frozen headers, filters, totals = Parquet; {hostile_cells} cells of hostile text are strings")

# LibreOffice headless: every sheet to CSV (filter option -1: one file per sheet).
with tempfile.TemporaryDirectory() as tmp:
    profile = f"-env:UserInstallation=file://{tmp}/profile"
    subprocess.run(["soffice", profile, "--headless", "--convert-to",
                    'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1',
                    "--outdir", tmp, xlsx], check=True, capture_output=True, timeout=300)
    converted = sorted(glob.glob(os.path.join(tmp, "finance-*.csv")))
    assert len(converted) == 9, converted
    inv = os.path.join(tmp, "finance-Invoices.csv")
    with open(inv, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    total = sum(Decimal(r["total"].replace(",", "")) for r in rows)
    exact_total = sum(r["total"] for r in table("invoices"))
    assert total == exact_total, (total, exact_total)
    # Every amount LibreOffice shows at a lakh or more is grouped the Indian way, sign kept.
    indian = re.compile(r"^-?[0-9]{1,2}(,[0-9]{2})*,[0-9]{3}\.[0-9]{2}$")
    shown_large = 0
    for path in converted:
        with open(path, encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    plain = cell.replace(",", "")
                    if re.fullmatch(r"-?[0-9]+\.[0-9]{2}", plain) and abs(Decimal(plain)) >= 100000:
                        assert indian.match(cell), f"{cell} is not grouped in lakhs ({path})"
                        shown_large += 1
    for path in converted:
        with open(path, encoding="utf-8") as f:
            for line in f:
                assert "http://evil" not in line or "=HYPERLINK(" in line, line
    # The workbook's own money format on amounts of every size and sign (a month's invoices
    # may hold none of a lakh): shown as finance reads them.
    header = [c.value for c in wb["Invoices"][1]]
    money_format = wb["Invoices"].cell(row=2, column=header.index("total") + 1).number_format
    probe = openpyxl.Workbook()
    samples = {12345678.9: "1,23,45,678.90", 123456.7: "1,23,456.70", 1234.5: "1,234.50",
               -123.45: "-123.45", -123456.7: "-1,23,456.70", 0: "0.00"}
    for i, v in enumerate(samples):
        probe.active.cell(row=i + 1, column=1, value=v).number_format = money_format
    probe.save(os.path.join(tmp, "probe.xlsx"))
    subprocess.run(["soffice", profile, "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false",
                    "--outdir", tmp, os.path.join(tmp, "probe.xlsx")], check=True, capture_output=True, timeout=300)
    with open(os.path.join(tmp, "probe.csv"), encoding="utf-8") as f:
        shown = [r[0] for r in csv.reader(f)]
    assert shown == list(samples.values()), (money_format, shown)
checked.append(f"LibreOffice headless converted all 9 sheets; invoice totals as shown = Parquet ({total}); "
               f"{shown_large} amounts of a lakh or more grouped in lakhs; the money format shows "
               f"1,23,45,678.90 and -1,23,456.70")

# ---------------------------------------------------------------- csv/
for path in sorted(glob.glob(os.path.join(here, "csv", "*.csv"))):
    name = os.path.basename(path)[:-4]
    rows = table(name)
    with open(path, encoding="utf-8", newline="") as f:
        got_rows = list(csv.DictReader(f))
    assert len(got_rows) == len(rows), (name, len(got_rows), len(rows))
    for col, v in (rows[0].items() if rows else []):
        if isinstance(v, Decimal):
            a = sum((Decimal(r[col]) for r in got_rows if r[col] != ""), Decimal(0))
            b = sum((r[col] for r in rows if r[col] is not None), Decimal(0))
            assert a == b, (name, col, a, b)
    text_columns = {c for r in rows[:2000] for c, v in r.items() if isinstance(v, str)}
    for r in got_rows:
        for c in text_columns:
            assert r[c][:1] not in ("=", "+", "-", "@", "\t", "\r"), (name, c, r[c])
checked.append("csv/: every table, decimal sums exact, no text cell starts a formula")

# ---------------------------------------------------------------- statements/
# Per customer, product and direction: the statement's billed calls, rounded once to the
# paisa, equal the invoice's call line plus its notes' (signed); with no note, the exact sum
# equals the invoice line's exact amount.
period_docs = {d["number"]: d for d in table("documents")}
billed_lines = defaultdict(Decimal)
for l in table("document_lines"):
    d = period_docs.get(l["number"])
    if d and l["key"].startswith("calls/"):
        billed_lines[(d["auth_id"], l["key"])] += sign(d) * l["taxable"]
noted = {d["auth_id"] for d in period_docs.values() if d["kind"] != "invoice"}
exact_lines = defaultdict(Decimal)
for l in table("invoice_lines"):
    if " calls (" in l["description"]:
        exact_lines[l["auth_id"]] += l["amount"]
statement = defaultdict(Decimal)
exact_statement = defaultdict(Decimal)
for path in glob.glob(os.path.join(here, "statements", "*.csv")):
    auth_id = os.path.basename(path)[:-4]
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            statement[(auth_id, f"calls/{r['product']}/{r['direction']}")] += Decimal(r["billed"])
            exact_statement[auth_id] += Decimal(r["billed"])
rounded = {k: v.quantize(CENT, rounding="ROUND_HALF_UP") for k, v in statement.items()}
invoiced = {d["auth_id"] for d in period_docs.values()}
for k in set(rounded) | set(billed_lines):
    if k[0] in invoiced:
        assert rounded.get(k, Decimal(0)) == billed_lines.get(k, Decimal(0)), (k, rounded.get(k), billed_lines.get(k))
exactly = 0
for auth_id, amount in exact_lines.items():
    if auth_id not in noted:
        assert exact_statement[auth_id] == amount, (auth_id, exact_statement[auth_id], amount)
        exactly += 1
checked.append(f"statements: {len(invoiced)} customers' billed calls = invoice + notes per call line; "
               f"{exactly} without notes equal to the invoice's exact amounts")

# A customer's subaccount statements are its statement's rows of that subaccount, each once.
split = 0
for folder in glob.glob(os.path.join(here, "statements", "*", "")):
    auth_id = os.path.basename(os.path.dirname(folder))
    with open(os.path.join(here, "statements", f"{auth_id}.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_sub = defaultdict(list)
    for r in rows:
        if r["subaccount"]:
            by_sub[r["subaccount"]].append(r)
    files = {os.path.basename(p)[:-4]: p for p in glob.glob(os.path.join(folder, "*.csv"))}
    assert set(files) == set(by_sub), (auth_id, sorted(files), sorted(by_sub))
    for sub, path in files.items():
        with open(path, encoding="utf-8", newline="") as f:
            assert list(csv.DictReader(f)) == by_sub[sub], (auth_id, sub)
    split += len(files)
assert split > 0, "no customer's calls were split by subaccount"
checked.append(f"statements/<account>/: {split} subaccount statements = their rows of the customer's statement")

for c in checked:
    print("ok", c)
