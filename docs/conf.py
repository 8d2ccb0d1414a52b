"""Sphinx configuration for glassnet's documentation.

Build it as CI does, with warnings as errors::

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

The pages are Markdown (MyST), so they read the same on a code host; the math is typeset by a copy
of MathJax served with the site (no CDN); the API reference is built from the numpydoc docstrings;
the gallery runs every script in ``examples/`` and fails the build when one fails. Examples that
need MNIST find it through ``$GLASSNET_DATA_DIR`` (a folder holding ``mnist/``) or download it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import glassnet

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
project = "glassnet"
author = "glassnet developers"
copyright = "glassnet developers"
release = version = glassnet.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py"]

# ------------------------------------------------------------------------------------------ MyST
# $…$ and $$…$$ for the walkthrough's math, {math} too; headings get anchors so pages can link to
# a section as they do on a code host (results.md#data-of-ones-own).
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 4
myst_dmath_double_inline = True

# ------------------------------------------------------------------------------------- the math
# MathJax 3 from the sphinx-mathjax-offline package, served by the site itself: the site typesets
# its math with no network at all. Only what the pages load is copied (the TeX-to-HTML component,
# its fonts, and the TeX extensions it loads on demand, such as \color): 2 MB of the package's 24.
_MATHJAX = importlib.util.find_spec("sphinx-mathjax-offline")
if _MATHJAX is None or _MATHJAX.origin is None:
    raise RuntimeError("sphinx-mathjax-offline is missing: pip install -e '.[docs]'")
_MATHJAX_FILES = Path(_MATHJAX.origin).parent / "static" / "mathjax"
_MATHJAX_STAGED = HERE / "_build" / "mathjax-static"
for _part in ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions"):
    _source, _target = _MATHJAX_FILES / _part, _MATHJAX_STAGED / "mathjax" / _part
    if _source.is_dir():
        shutil.copytree(_source, _target, dirs_exist_ok=True)
    else:
        _target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_source, _target)
html_static_path = ["_static", str(_MATHJAX_STAGED)]
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {"options": {"enableMenu": False}}

# ------------------------------------------------------------------------------------ the theme
html_theme = "furo"
html_title = f"glassnet {release}"
html_css_files = ["glassnet.css"]
html_favicon = "_static/favicon.svg"
html_show_sourcelink = True
html_copy_source = True
html_theme_options = {
    "source_repository": "",
    "navigation_with_keys": True,
}
pygments_style = "friendly"
pygments_dark_style = "monokai"

# ---------------------------------------------------------------------------------- API (numpydoc)
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc sections say the types, with the shapes
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

# --------------------------------------------------------------------------- the gallery (executed)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GLASSNET_NO_COLOR", "1")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # run every example
    "ignore_pattern": r"(__init__|_helpers)\.py$",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "only_warn_on_example_error": False,  # a failing example fails the build
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "first_notebook_cell": "# pip install 'glassnet[docs]'  (glassnet with matplotlib, scikit-learn, ONNX)",
    "min_reported_time": 1,
    "write_computation_times": False,  # its page would load scripts from a CDN
}

# ----------------------------------------------------------------------------------------- links
# The Markdown pages link to files beside docs/ as a code host shows them:
# [`losses.py`](../src/glassnet/losses.py), [BENCHMARKS.md](../BENCHMARKS.md). In the site, a link
# to a module opens a page of its source (generated into source/ from the file itself, so it is
# never a stale copy), a link to the engine folder the engines' API page, and BENCHMARKS.md the
# page that includes it. MyST then checks each rewritten link like any other.
_OUTSIDE = re.compile(r"\]\(\.\./(src/glassnet/[\w/.]*|BENCHMARKS\.md)\)")
SOURCE_PAGES = HERE / "source"


def _source_page(path: str) -> str:
    """The generated page's name for ``src/glassnet/x/y.py``: ``glassnet.x.y``."""
    return path[len("src/") : -len(".py")].replace("/", ".").removesuffix(".__init__")


def _site_link(match: re.Match[str], docname: str) -> str:
    target = match.group(1)
    up = "../" * docname.count("/")
    if target == "BENCHMARKS.md":
        return f"]({up}benchmarks.md)"
    if target.endswith(".py"):
        return f"]({up}source/{_source_page(target)}.md)"
    return f"]({up}api/engines.md)"


def _rewrite_links(app: object, docname: str, source: list[str]) -> None:
    source[0] = _OUTSIDE.sub(lambda m: _site_link(m, docname), source[0])


def _write_source_pages(app: object) -> None:
    """A page for each module a Markdown page links to: its source, included from the file."""
    linked = set()
    for page in HERE.glob("*.md"):
        linked |= {m.group(1) for m in _OUTSIDE.finditer(page.read_text(encoding="utf-8"))}
    SOURCE_PAGES.mkdir(exist_ok=True)
    for path in sorted(p for p in linked if p.endswith(".py") and (REPO / p).is_file()):
        name = _source_page(path)
        text = (
            f"---\norphan: true\n---\n\n# `{path}`\n\n"
            f"```{{literalinclude}} ../../{path}\n:language: python\n:linenos:\n```\n"
        )
        page = SOURCE_PAGES / f"{name}.md"
        if not page.is_file() or page.read_text(encoding="utf-8") != text:
            page.write_text(text, encoding="utf-8")


def setup(app: object) -> None:
    app.connect("builder-inited", _write_source_pages)  # type: ignore[attr-defined]
    app.connect("source-read", _rewrite_links)  # type: ignore[attr-defined]
    app.connect("autodoc-process-docstring", _escape_trailing_underscores)  # type: ignore[attr-defined]


def _escape_trailing_underscores(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """``(n_features_in_,)`` in a numpydoc type reads as a link target to reStructuredText; escape
    the underscore of a name ending in one outside ``literals``."""
    for i, line in enumerate(lines):
        if "``" not in line:
            lines[i] = _TRAILING.sub(r"\1\\_", line)


_TRAILING = re.compile(r"\b(\w+)_(?=[,)\]])")
