"""minik's live web dashboard: `python -m dashboard` (see __main__.py)."""
