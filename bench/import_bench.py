"""Import benchmark (issue 5, "Speed"; issue 15, xlsx):
``python bench/import_bench.py [--rows 1000000] [--xlsx-rows 200000]``.

Writes a case CSV of ``--rows`` rows with Chinese headers (like a platform export: codes, names,
mixed date formats, a few bad rows) for the district demo data, copies the district data
directory to a scratch folder, and times ``python -m data_layer import`` on it in a child
process. Prints rows/s and the child's peak RSS (memory stays bounded: the CSV is streamed in
batches of 100,000 rows). Target: 1,000,000 rows in ≤ 30 s.

Then the same rows (the first ``--xlsx-rows``) as an .xlsx (dates as Excel date cells, codes as
text), imported the same way (calamine reader): rows/s beside the CSV's. Target: ≥ 20,000
rows/s. ``--xlsx-rows 0`` skips it.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

TARGET_S = 30.0
XLSX_TARGET_ROWS_S = 20_000


def make_csv(path: Path, rows: int, grids: list[str], seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    base = np.datetime64("2025-01-01T00:00:00")
    rep = base + rng.integers(0, 300 * 86400, rows).astype("timedelta64[s]")
    reg = rep + rng.integers(60, 7200, rows).astype("timedelta64[s]")
    clo = reg + rng.integers(3600, 10 * 86400, rows).astype("timedelta64[s]")
    closed = rng.random(rows) < 0.8
    cats = np.array(
        ["环境卫生", "矛盾纠纷", "安全隐患", "物业管理", "市政设施", "民生服务", "其他"]
    )
    srcs = np.array(["网格员上报", "12345热线", "居民点单", "微心愿", "在职党员"])
    frame = pl.DataFrame(
        {
            "事件编号": [f"E{i:08d}" for i in range(rows)],
            "所属网格": np.array(grids)[rng.integers(0, len(grids), rows)],
            "事件类型": cats[rng.integers(0, len(cats), rows)],
            "来源": srcs[rng.integers(0, len(srcs), rows)],
            "上报时间": pl.Series(rep.astype("datetime64[us]")).dt.strftime("%Y/%-m/%-d %H:%M"),
            "立案时间": pl.Series(reg.astype("datetime64[us]")).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "办结时间": pl.Series(
                np.where(closed, clo, np.datetime64("NaT")).astype("datetime64[us]")
            ).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "状态": np.where(closed, "已结案", "处置中"),
            "承办单位": np.array(["区城管局", "区住建局", "物业公司"])[rng.integers(0, 3, rows)],
            "满意度": np.array(["满意", "基本满意", "不满意", ""])[rng.integers(0, 4, rows)],
            "联系人": np.array(["张三", "李四", "王五"])[rng.integers(0, 3, rows)],
            "联系电话": [f"138{i % 100000000:08d}" for i in range(rows)],
            "事件描述": np.array(["垃圾未清运", "路灯损坏", "邻里纠纷"])[rng.integers(0, 3, rows)],
        }
    )
    # a few bad rows: impossible dates, unknown grids, duplicates
    bad = rng.choice(rows, size=max(rows // 1000, 3), replace=False)
    frame = (
        frame.with_row_index("_i")
        .with_columns(
            pl.when(pl.col("_i").is_in(bad[: len(bad) // 3].tolist()))
            .then(pl.lit("2025-02-30 08:00"))
            .otherwise(pl.col("上报时间"))
            .alias("上报时间"),
            pl.when(pl.col("_i").is_in(bad[len(bad) // 3 :].tolist()))
            .then(pl.lit("999999999999999"))
            .otherwise(pl.col("所属网格"))
            .alias("所属网格"),
        )
        .drop("_i")
    )
    frame.write_csv(path)


def make_xlsx(csv: Path, path: Path, rows: int) -> None:
    """The first ``rows`` of the CSV as a workbook: times as Excel date cells, text as text."""
    frame = pl.read_csv(csv, n_rows=rows, infer_schema=False)
    times = ["立案时间", "办结时间"]  # 上报时间 stays text: it carries the impossible dates
    frame = frame.with_columns(pl.col(t).str.to_datetime("%Y-%m-%d %H:%M:%S") for t in times)
    frame.write_excel(path, dtype_formats={pl.Datetime: "yyyy-mm-dd hh:mm:ss"}, autofit=False)


# ``python -m data_layer`` that prints its own peak RSS (VmHWM) at exit: ru_maxrss of a child
# counts the parent's memory at the fork (here: the workbook the parent just wrote)
CHILD = """
import runpy, sys
sys.argv = ["data_layer", *sys.argv[1:]]
try:
    runpy.run_module("data_layer", run_name="__main__")
finally:
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
    print("peak_kb=" + hwm[0].split()[1] if hwm else "", flush=True)
"""


def time_import(src: Path, data: Path, tmp: Path) -> dict | None:
    """``python -m data_layer import`` of ``src`` into ``data`` in a child: seconds, CPU, RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            "import",
            "--data",
            str(data),
            "--cases",
            str(src),
            "--report",
            str(tmp / "report.csv"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("\n".join(ln for ln in proc.stdout.strip().splitlines() if not ln.startswith("peak_kb=")))
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return None
    cpu = (usage.ru_utime + usage.ru_stime) - (before.ru_utime + before.ru_stime)
    inside = re.search(r"^\s+([\d,]+) rows/s$", proc.stdout, re.M)
    peak = re.search(r"^peak_kb=(\d+)$", proc.stdout, re.M)
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "peak_mb": int(peak.group(1)) / 1024 if peak else float("nan"),
        "import_rows_s": int(inside.group(1).replace(",", "")) if inside else None,
    }


def reader_rows_s(src: Path, scratch: Path) -> float:
    """Rows per second of the reader alone (``open_table`` and every batch), in this process."""
    from data_layer.ingest.readers import open_table

    t0 = time.monotonic()
    rows = sum(b.height for b in open_table(src, scratch=scratch).batches)
    return rows / (time.monotonic() - t0)


def report(fmt: str, rows: int, run: dict, reader: float, *, ok: bool) -> None:
    target = (
        f"target ≤ {TARGET_S:.0f} s per million"
        if fmt == "csv"
        else f"target ≥ {XLSX_TARGET_ROWS_S:,} rows/s"
    )
    print(
        f"import_bench {fmt}: {rows:,} rows in {run['seconds']:.1f} s = "
        f"{rows / run['seconds']:,.0f} rows/s with start-up; the import itself "
        f"{run['import_rows_s'] or 0:,} rows/s, the reader alone {reader:,.0f} rows/s; "
        f"CPU {run['cpu']:.1f} s "
        f"({rows / run['cpu']:,.0f} rows per CPU-second), peak RSS {run['peak_mb']:,.0f} MB, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        f"[{'OK' if ok else 'SLOW'}, {target}]",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data-district")
    args = parser.parse_args()
    if not (args.data / "grids.parquet").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "data_layer",
                "demo",
                "--out",
                str(args.data),
                "--scale",
                "district",
            ],
            cwd=ROOT,
            check=True,
        )
    grids = pl.read_parquet(args.data / "grids.parquet")["grid_code"].to_list()
    with tempfile.TemporaryDirectory(prefix="gridpulse-import-bench-") as tmp:
        tmp = Path(tmp)
        csv = tmp / "cases.csv"
        t0 = time.monotonic()
        make_csv(csv, args.rows, grids)
        print(
            f"wrote {args.rows:,} rows ({csv.stat().st_size / 1e6:,.0f} MB) in {time.monotonic() - t0:.1f} s",
            flush=True,
        )
        data = tmp / "data"
        shutil.copytree(args.data, data, symlinks=True)
        run = time_import(csv, data, tmp)
        if run is None:
            return 1
        report(
            "csv",
            args.rows,
            run,
            reader_rows_s(csv, tmp),
            ok=run["seconds"] <= TARGET_S * args.rows / 1_000_000,
        )
        args.xlsx_rows = min(args.xlsx_rows, args.rows)
        if args.xlsx_rows:
            xlsx = tmp / "cases.xlsx"
            t0 = time.monotonic()
            make_xlsx(csv, xlsx, args.xlsx_rows)
            print(
                f"wrote {args.xlsx_rows:,} rows as xlsx ({xlsx.stat().st_size / 1e6:,.0f} MB) "
                f"in {time.monotonic() - t0:.1f} s",
                flush=True,
            )
            shutil.rmtree(data)
            shutil.copytree(args.data, data, symlinks=True)
            run = time_import(xlsx, data, tmp)
            if run is None:
                return 1
            report(
                "xlsx",
                args.xlsx_rows,
                run,
                reader_rows_s(xlsx, tmp),
                ok=(run["import_rows_s"] or 0) >= XLSX_TARGET_ROWS_S,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
