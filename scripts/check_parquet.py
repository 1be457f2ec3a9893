"""Open every table of a period with pyarrow, pandas, DuckDB and polars, and check that money
is decimal (never float) and timestamps are timezone-aware UTC in each of them.

usage: check_parquet.py OUT_DIR PERIOD
"""
import decimal
import pathlib
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

MONEY = {
    "cdrs": ["cost", "streaming_cost", "total_cost", "debit_amount"],
    "transactions": ["amount", "signed_amount"],
    "balances": ["balance", "closing_balance", "opening_balance"],
    "accounts": ["rate_per_minute"],
    "analytics_daily": ["total_cost"],
    "invoices": ["taxable", "cgst", "sgst", "igst", "total"],
    "documents": ["taxable", "cgst", "sgst", "igst", "total"],
    "document_lines": ["taxable", "cgst", "sgst", "igst"],
    "subaccounts": [],
}
TIMES = {
    "cdrs": ["start_time"],
    "transactions": ["created_at"],
    "balances": ["balance_at"],
    "accounts": ["created_at"],
    "subaccounts": ["created_at", "updated_at"],
}

out, period = pathlib.Path(sys.argv[1]), sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


for table, money_cols in MONEY.items():
    path = out / "parquet" / table / f"period={period}" / "part-0.parquet"
    # pyarrow
    t = pq.read_table(path)
    check(t.num_rows > 0, f"{table}: no rows")
    for c in money_cols:
        ty = t.schema.field(c).type
        check(pa.types.is_decimal(ty) and ty.precision == 20 and ty.scale == 5, f"pyarrow {table}.{c} is {ty}")
    for c in TIMES.get(table, []):
        ty = t.schema.field(c).type
        check(pa.types.is_timestamp(ty) and ty.tz == "UTC" and ty.unit == "us", f"pyarrow {table}.{c} is {ty}")
    # pandas (via pyarrow): decimals arrive as decimal.Decimal objects, times tz-aware
    df = pd.read_parquet(path)
    for c in money_cols:
        v = df[c].dropna()
        check(len(v) == 0 or isinstance(v.iloc[0], decimal.Decimal), f"pandas {table}.{c} holds {type(v.iloc[0]) if len(v) else None}")
    for c in TIMES.get(table, []):
        check(str(df[c].dt.tz) == "UTC", f"pandas {table}.{c} tz is {df[c].dt.tz}")
    # DuckDB
    con = duckdb.connect()
    cols = dict(con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()[i][:2] for i in range(len(t.schema)))
    for c in money_cols:
        check(cols[c] == "DECIMAL(20,5)", f"duckdb {table}.{c} is {cols[c]}")
    for c in TIMES.get(table, []):
        check(cols[c] == "TIMESTAMP WITH TIME ZONE", f"duckdb {table}.{c} is {cols[c]}")
    # polars
    pf = pl.read_parquet(path)
    for c in money_cols:
        check(pf.schema[c] == pl.Decimal(20, 5), f"polars {table}.{c} is {pf.schema[c]}")
    for c in TIMES.get(table, []):
        check(pf.schema[c] == pl.Datetime("us", "UTC"), f"polars {table}.{c} is {pf.schema[c]}")
    # The same exact total through every reader.
    if table == "cdrs":
        totals = {
            "pyarrow": sum((x for x in t.column("total_cost").to_pylist()), decimal.Decimal(0)),
            "pandas": sum(df["total_cost"], decimal.Decimal(0)),
            "duckdb": con.execute(f"SELECT sum(total_cost) FROM read_parquet('{path}')").fetchone()[0],
            "polars": pf["total_cost"].sum(),
        }
        check(len({decimal.Decimal(v) for v in totals.values()}) == 1, f"cdrs total_cost differs across readers: {totals}")

# Subaccounts: each one's calls join to it through the calls' subaccount_id, and no column
# holds a secret.
con = duckdb.connect()
subs = f"read_parquet('{out}/parquet/subaccounts/period={period}/part-0.parquet')"
calls = f"read_parquet('{out}/parquet/cdrs/period={period}/part-0.parquet')"
names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {subs}").fetchall()]
check(not any("token" in n for n in names), f"subaccounts has a token column: {names}")
joined = con.execute(
    f"SELECT count(*), count(s.auth_id) FROM {calls} c LEFT JOIN {subs} s "
    "ON s.account_id = c.account_id AND s.auth_id = c.subaccount_id WHERE c.subaccount_id IS NOT NULL"
).fetchone()
check(joined[0] > 0 and joined[0] == joined[1], f"calls by a subaccount / of them by a listed one: {joined}")

# Hive-style partition discovery works too.
ds = duckdb.connect().execute(
    f"SELECT period, count(*) FROM read_parquet('{out}/parquet/cdrs/*/*.parquet', hive_partitioning=true) GROUP BY period"
).fetchall()
check(ds and ds[0][0] == period, f"duckdb hive partitioning gave {ds}")

if failures:
    print("\n".join(failures))
    print(f"0 passed, {len(failures)} failed")
    sys.exit(1)
print(f"parquet interop: {len(MONEY)} tables open in pyarrow, pandas, duckdb and polars with decimal money and UTC timestamps")
