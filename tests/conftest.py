import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fixtures_tiny import tiny_dataset, tiny_tables  # noqa: E402
from pg import pg_empty_url, pg_server, pg_url  # noqa: E402, F401 - the tests' PostgreSQL

from data_layer.storage.source import write_tables  # noqa: E402


@pytest.fixture
def tiny():
    return tiny_dataset()


@pytest.fixture
def tiny_dir(tmp_path):
    out = tmp_path / "tiny"
    write_tables(out, tiny_tables())
    return out
