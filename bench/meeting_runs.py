"""The 联席会议 page's script runs, CPU per step (issue #16): ``python bench/meeting_runs.py``.

The server side of ``bench/meeting.py`` without a browser, with the caches in known states:
Streamlit's ``AppTest`` runs ``app.py`` in this process, signed in as the demo
``district`` account, and each step is costed in this process's CPU time
(``time.process_time``: every thread of the process):

1. a frozen link (``mt_as_of`` = T) opened first after start, its map slide, the other
   slides, presentation mode;
2. a new session on the meeting frozen one minute later (T + 1 min: the slide model is
   built again, the picture of the map is the same);
3. a new session on the first link again (every cache warm).

One run, no browser; never a timed unit test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SLIDES = 7


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="data directory (e.g. a demo district)")
    parser.add_argument("--as-of", default="2026-12-02T09:00", help="the meeting's as-of")
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--out", help="JSON file for the results")
    args = parser.parse_args(argv)
    os.environ["GRIDPULSE_DATA"] = str(Path(args.data).resolve())

    from streamlit.testing.v1 import AppTest

    from data_layer.auth import demo
    from ui.state import SessionKey

    user = demo.demo_users(Path(args.data))["district"]  # the demo's account, as its button
    as_of = dt.datetime.fromisoformat(args.as_of)
    steps: list[dict] = []

    def timed(name: str, action) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        at = action()
        spent, elapsed = time.process_time() - cpu, time.perf_counter() - wall
        assert not at.exception, [e.message for e in at.exception]
        steps.append({"step": name, "cpu_s": round(spent, 3), "wall_s": round(elapsed, 3)})
        print(f"  {name:<40} CPU {spent:6.3f} s   wall {elapsed:6.3f} s", flush=True)

    def session(at_time: dt.datetime, label: str) -> None:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        params = {"mt_period": "month", "mt_month": args.month, "mt_as_of": at_time.isoformat()}
        for key, value in params.items():
            at.query_params[key] = value
        at.switch_page(str(ROOT / "pages" / "meeting.py"))
        at.session_state[SessionKey.USER] = user
        timed(f"{label}: open (slide 1)", at.run)
        timed(f"{label}: map slide", lambda: at.button(key="mt_next").click().run())
        for n in range(3, SLIDES + 1):
            timed(f"{label}: slide {n}", lambda: at.button(key="mt_next").click().run())
        timed(f"{label}: presentation mode", lambda: at.button(key="mt_present").click().run())

    print("1. first link, first after start:")
    session(as_of, "first")
    print("2. frozen a minute later (new slide model):")
    session(as_of + dt.timedelta(minutes=1), "minute later")
    print("3. the first link again (warm):")
    session(as_of, "warm")
    if args.out:
        Path(args.out).write_text(json.dumps({"data": args.data, "steps": steps}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
