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


@pytest.fixture
def downloads(monkeypatch):
    """The download buttons' deferred files of the AppTest runs in this test, as
    ``{file name: callable}``: call one to get the bytes the button would send (and to
    write its audit event), as a click does."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    found: dict = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        found[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return found
