"""``python -m data_layer``: the command line (data_layer/cli.py)."""

from data_layer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
