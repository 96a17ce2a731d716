"""Map benchmark (issue 3, "Fast"): ``make bench`` runs ``bench/run.py``."""
