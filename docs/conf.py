"""Sphinx configuration for the cssc_core documentation site."""

from __future__ import annotations

project = "cssc_core"
author = "cssc_core developers"
copyright = "2026, cssc_core developers"  # noqa: A001 - Sphinx reads this name

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "cssc_core"
autodoc_typehints = "description"
