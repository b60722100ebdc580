"""Sphinx configuration of the rdinet-sklearn documentation (built offline by docs/build.sh)."""

import importlib
import os
import pkgutil
import re
import warnings
from pathlib import Path

import rdinet_sklearn

DOCS = Path(__file__).resolve().parent

project = "rdinet-sklearn"
author = "rdinet-sklearn developers"
copyright = "rdinet-sklearn developers, BSD-3-Clause"
version = release = rdinet_sklearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]
root_doc = "index"
default_role = "literal"

# API reference: one page per public object, generated from the docstrings.
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's "Parameters" sections carry the types
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False  # the class template lists methods itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The network is closed at build time: no intersphinx inventories are fetched.
intersphinx_mapping = {}

html_theme = "pydata_sphinx_theme"
html_title = f"rdinet-sklearn {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": []}
html_show_sourcelink = False

# Examples gallery: every examples/plot_*.py is run and its figures embedded.
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("rdinet_sklearn",),
    "reference_url": {"rdinet_sklearn": None},
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "plot_gallery": os.environ.get("DOCS_PLOT_GALLERY", "True"),
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
}

warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# Public API completeness: every name in a public module's __all__ must be in api.rst.
API_EXEMPT = {"__version__"}


def _public_modules():
    """``rdinet_sklearn`` and its public submodules (an import error fails the build)."""
    yield rdinet_sklearn
    for info in pkgutil.iter_modules(rdinet_sklearn.__path__, "rdinet_sklearn."):
        if not info.name.rsplit(".", 1)[1].startswith("_"):
            yield importlib.import_module(info.name)


def check_api_reference(app):
    """Warn (an error under -W) for any public name that api.rst does not document."""
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    documented, current = set(), None
    for line in text.splitlines():
        module = re.match(r"\.\. currentmodule:: (\S+)", line.strip())
        if module:
            current = module.group(1)
        entry = re.match(r"^ {3}(\w+)$", line)
        if entry and current:
            documented.add(f"{current}.{entry.group(1)}")
    for module in _public_modules():
        for name in getattr(module, "__all__", []):
            if name in API_EXEMPT:
                continue
            if f"{module.__name__}.{name}" not in documented:
                logger.warning(
                    f"public name {module.__name__}.{name} is not listed in api.rst",
                    location=str(DOCS / "api.rst"),
                )


def setup(app):
    app.connect("builder-inited", check_api_reference)
