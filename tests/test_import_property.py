"""Property: random malformed CSVs never crash the importer and always reconcile.

Whatever the bytes, ``run_import`` either raises ``DataError`` (a file that cannot be used at
all: empty, undecodable, required fields missing) or returns a result with
read = imported + rejected, where every rejected row is in the report, and the data directory
then holds exactly the imported rows on top of the old ones.
"""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
from fixtures_tiny import G1, G2, tiny_tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_layer.ingest import run_import
from data_layer.storage.source import DataError, open_dataset, signature, write_tables

NOW = dt.datetime(2025, 4, 1, 12, 0)
HEADERS = [
    "事件编号",
    "所属网格",
    "事件类型",
    "来源",
    "上报时间",
    "办结时间",
    "满意度",
    "经度",
    "纬度",
    "联系电话",
    "备注",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "A1",
            "A2",
            G1,
            G2,
            "360102001001999",
            "一社区第1网格",
            "环境",
            "矛盾纠纷",
            "网格员",
            "12345",
            "2025-03-01 08:00",
            "2025/3/2 9:05",
            "2025-02-30 08:00",
            "3/14/2025 1:20 PM",
            "45352.5",
            "满意",
            "0",
            "0.3",
            "0.5",
            "115.9",
            "28.7",
            "13812341234",
            "已结案",
            "x",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)
SEPARATORS = st.sampled_from([",", ",", ",", ";", "\t"])
ROW = st.lists(CELLS, min_size=0, max_size=len(HEADERS) + 3)


@st.composite
def csv_bytes(draw):
    sep = draw(SEPARATORS)
    header = draw(
        st.one_of(st.just(HEADERS), st.lists(st.sampled_from(HEADERS + ["乱码", ""]), max_size=12))
    )
    rows = draw(st.lists(ROW, max_size=12))
    lines = [sep.join(header)] + [
        sep.join(draw(st.sampled_from(["{}", '"{}"', '{}"'])).format(c) for c in r) for r in rows
    ]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 2]))
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "utf-8-sig"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):  # damage: cut, inject bytes
        cut = draw(st.integers(0, len(data)))
        junk = draw(st.binary(max_size=6))
        data = data[:cut] + junk + data[cut:]
    return data


@settings(
    max_examples=120,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=csv_bytes())
def test_random_malformed_csv_never_crashes_and_reconciles(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("prop")
    data_dir = tmp / "data"
    write_tables(data_dir, tiny_tables())
    before = open_dataset(data_dir)["cases"]
    src = tmp / "x.csv"
    src.write_bytes(data)
    stamp = signature(data_dir)
    try:
        results = run_import(data_dir, cases=src, now=NOW)
    except DataError:
        assert signature(data_dir) == stamp  # nothing changed
        return
    finally:
        pass
    (r,) = results
    assert r.read == r.imported + r.rejected
    assert r.report.filter(pl.col("severity") == "rejected")["row"].n_unique() == r.rejected
    after = open_dataset(data_dir)["cases"]
    assert after.height == before.height + r.inserted
    assert after["case_id"].n_unique() == after.height
    if r.imported == 0:
        assert signature(data_dir) == stamp
    shutil.rmtree(tmp, ignore_errors=True)
