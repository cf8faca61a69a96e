"""The load mode: pacing, recording and thresholds for `assay load` (see results.py)."""
