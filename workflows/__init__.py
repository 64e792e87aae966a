"""Workflow definitions as data. ``DEFINITIONS_DIR`` is where the YAML files live."""

from pathlib import Path

DEFINITIONS_DIR = Path(__file__).resolve().parent
