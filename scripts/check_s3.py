"""Check that a period the pipeline published to an S3-compatible store matches a local run of
the same period exactly, read by an independent reader: pyarrow's own S3 client and its Hive
partition discovery, not the Rust code's object_store or its Parquet writer's view of the files.

For every table under LOCAL/parquet/ that has the period's partition:
  - the S3 dataset BUCKET/PREFIX/parquet/<table> (partitioning='hive', filtered on
    period == PERIOD) holds exactly one file, part-0.parquet, and has the local file's rows,
    schema (the partition column aside) and contents, in the same order;
  - every decimal column sums (exactly, with decimal.Decimal) the same on both sides, and to
    what the local manifest recorded for the table, as do its row count and SHA-256;
  - the S3 object's bytes have the local file's SHA-256.
No table of the period may exist on S3 only, and the S3 manifest (the publish's commit marker)
must record the same table stats as the local one.

usage: check_s3.py --endpoint http://127.0.0.1:PORT --url s3://BUCKET/PREFIX --local DIR --period YYYY-MM
Exit 0 when all hold, 1 on any difference, 2 on bad arguments.
"""
import argparse
import decimal
import hashlib
import json
import os
import pathlib
import re
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

parser = argparse.ArgumentParser(description="Compare a period on S3 with a local run of it.")
parser.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:5000")
parser.add_argument("--url", required=True, help="s3://BUCKET/PREFIX the pipeline published to")
parser.add_argument("--local", required=True, type=pathlib.Path, help="the local run's --out")
parser.add_argument("--period", required=True, help="YYYY-MM")
args = parser.parse_args()
m = re.fullmatch(r"(https?)://([^/]+)/?", args.endpoint)
if not m:
    parser.error(f"--endpoint {args.endpoint!r} is not http(s)://HOST:PORT")
u = re.fullmatch(r"s3://([^/]+)(/.*)?", args.url)
if not u:
    parser.error(f"--url {args.url!r} is not s3://BUCKET/PREFIX")
if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.period):
    parser.error(f"--period {args.period!r} is not YYYY-MM")
if not (args.local / "parquet").is_dir():
    parser.error(f"--local {args.local} has no parquet/ directory")
if not (args.local / args.period / "manifest.json").is_file():
    parser.error(f"--local {args.local} has no {args.period}/manifest.json")

period, local = args.period, args.local
base = "/".join(p for p in [u.group(1), *(u.group(2) or "").split("/")] if p)
fs = pafs.S3FileSystem(
    endpoint_override=m.group(2), scheme=m.group(1), region="us-east-1",
    access_key=os.environ.get("AWS_ACCESS_KEY_ID"), secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def table_stats(manifest):
    """Every object in the manifest keyed by a table name whose value has rows, sha256 and sums."""
    found = {}

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, dict) and {"rows", "sha256", "sums"} <= v.keys():
                    found[k] = v
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(manifest)
    return found


def decimal_sums(t):
    return {
        f.name: sum((x for x in t.column(f.name).to_pylist() if x is not None), decimal.Decimal(0))
        for f in t.schema if pa.types.is_decimal(f.type)
    }


local_manifest = json.loads((local / period / "manifest.json").read_text())
recorded = table_stats(local_manifest)
try:
    with fs.open_input_stream(f"{base}/{period}/manifest.json") as f:
        s3_recorded = table_stats(json.loads(f.read()))
except (OSError, ValueError) as e:
    s3_recorded = None
    check(False, f"manifest: cannot read {base}/{period}/manifest.json on S3: {e}")
if s3_recorded is not None:
    for name in sorted(recorded.keys() | s3_recorded.keys()):
        a, b = recorded.get(name), s3_recorded.get(name)
        same = a and b and (a["rows"], a["sha256"]) == (b["rows"], b["sha256"]) and \
            {k: decimal.Decimal(v) for k, v in a["sums"].items()} == {k: decimal.Decimal(v) for k, v in b["sums"].items()}
        check(same, f"manifest: {name} recorded locally as {a}, on S3 as {b}")

tables = sorted(p.name for p in (local / "parquet").iterdir() if (p / f"period={period}" / "part-0.parquet").is_file())
check(tables, f"{local}/parquet has no table with a period={period} partition")
s3_tables = sorted(
    i.base_name for i in fs.get_file_info(pafs.FileSelector(f"{base}/parquet", allow_not_found=True))
    if i.type == pafs.FileType.Directory
    and fs.get_file_info(f"{i.path}/period={period}/part-0.parquet").type == pafs.FileType.File
)
check(not set(s3_tables) - set(tables), f"tables on S3 only: {sorted(set(s3_tables) - set(tables))}")

for table in tables:
    path = local / "parquet" / table / f"period={period}" / "part-0.parquet"
    key = f"{base}/parquet/{table}/period={period}/part-0.parquet"
    lt = pq.read_table(path)
    if not check(table in s3_tables, f"{table}: no {key} on S3"):
        print(f"{table}: {lt.num_rows:,} rows locally, MISSING on S3")
        continue
    dataset = ds.dataset(f"{base}/parquet/{table}", filesystem=fs, format="parquet", partitioning="hive")
    where = ds.field("period").cast(pa.string()) == period
    frags = list(dataset.get_fragments(filter=where))
    if not check([f.path for f in frags] == [key], f"{table}: S3 partition holds {[f.path for f in frags]}, not just {key}"):
        continue
    st = dataset.to_table(filter=where)
    st = st.drop_columns([c for c in ["period"] if c in st.column_names])
    # A table with a `period` column of its own (documents: the period of supply) meets the
    # Hive key of the same name: readers take the path's value, so the two must agree.
    own = lt
    if "period" in lt.column_names:
        values = set(lt.column("period").to_pylist())
        check(values <= {period}, f"{table}: its period column holds {sorted(values)}, its partition is {period}")
        own = lt.drop_columns(["period"])
    ok = check(st.num_rows == lt.num_rows, f"{table}: {st.num_rows} rows on S3, {lt.num_rows} locally")
    # The dataset's schema comes from its first file (maybe another period's) and the rest are
    # cast to it, so the file's own schema is checked as well.
    for name, schema, want in [("dataset", st.schema, own.schema), ("file", frags[0].physical_schema, lt.schema)]:
        ok &= check(schema.equals(want, check_metadata=False), f"{table}: S3 {name} schema differs:\n{schema}\nlocal:\n{want}")
    if ok:
        ok = check(st.equals(own), f"{table}: contents differ between S3 and local")
    s3_sums, local_sums = decimal_sums(st), decimal_sums(lt)
    sums_ok = check(s3_sums == local_sums, f"{table}: decimal sums differ: S3 {s3_sums}, local {local_sums}")
    stats = recorded.get(table)
    local_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if stats is not None:
        want = {k: decimal.Decimal(v) for k, v in stats["sums"].items()}
        sums_ok &= check(want == local_sums, f"{table}: manifest sums {want}, files sum to {local_sums}")
        check(stats["rows"] == lt.num_rows, f"{table}: manifest rows {stats['rows']}, file has {lt.num_rows}")
        check(stats["sha256"] == local_sha, f"{table}: manifest sha256 {stats['sha256']}, file has {local_sha}")
    with fs.open_input_stream(key) as f:
        s3_sha = hashlib.sha256(f.read()).hexdigest()
    bytes_ok = check(s3_sha == local_sha, f"{table}: S3 object sha256 {s3_sha}, local file {local_sha}")
    shown = " ".join(f"{k} {v}" for k, v in local_sums.items())
    print(
        f"{table}: {lt.num_rows:,} rows, {'contents equal' if ok else 'CONTENTS DIFFER'}, "
        f"sums {'equal' if sums_ok else 'DIFFER'}" + (f" ({shown})" if shown else "")
        + ("" if stats is not None else ", not in manifest")
        + f", bytes {'equal' if bytes_ok else 'DIFFER'} (sha256 {local_sha[:12]})"
    )

if failures:
    print("\n".join(failures))
    print(f"s3 check: {len(failures)} difference(s)")
    sys.exit(1)
print(f"s3 check: {len(tables)} tables of {period} on {args.url} match {local} byte for byte")
