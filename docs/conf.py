"""Sphinx configuration of the rdinet-sklearn documentation (built offline by docs/build.sh)."""

import importlib
import os
import pkgutil
import re
import sys
import warnings
from pathlib import Path

import rdinet_sklearn

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # gallery_scrapers, named by string so the config pickles

project = "rdinet-sklearn"
author = "rdinet-sklearn developers"
copyright = "rdinet-sklearn developers, BSD-3-Clause"
version = release = rdinet_sklearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax shipped with the site, so that the equations render offline (no CDN).
    "sphinx-mathjax-offline",
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
numpydoc_xref_param_type = False  # its default aliases point at numpy's and Python's docs

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
    "image_scrapers": ("matplotlib", "gallery_scrapers.figure_scraper"),
}

warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# Public API completeness: every name in a public module's __all__ must be in api.rst.
API_EXEMPT = {"__version__"}


def _public_modules(logger):
    """``rdinet_sklearn`` and its public submodules; one that fails to import is a warning."""
    yield rdinet_sklearn
    for info in pkgutil.iter_modules(rdinet_sklearn.__path__, "rdinet_sklearn."):
        if info.name.rsplit(".", 1)[1].startswith("_"):
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception as exc:  # report every broken module, then go on (-W --keep-going)
            logger.warning(f"cannot import {info.name}: {exc}", location="api")


def _documented_objects(logger):
    """The objects api.rst lists (``.. currentmodule::`` + autosummary entries)."""
    documented, current = [], None
    for line in (DOCS / "api.rst").read_text(encoding="utf-8").splitlines():
        module = re.match(r"\.\. currentmodule:: (\S+)", line.strip())
        if module:
            current = module.group(1)
        entry = re.match(r"^ {3}(\w+)$", line)
        if entry and current:
            try:
                documented.append(getattr(importlib.import_module(current), entry.group(1)))
            except (ImportError, AttributeError) as exc:
                logger.warning(f"api.rst lists {current}.{entry.group(1)}: {exc}", location="api")
    return documented


def check_api_reference(app):
    """Warn (an error under -W) for any public name that api.rst does not document.

    A name re-exported elsewhere (``rdinet_sklearn.RadiomicsExtractor``) counts as
    documented when the same object is listed under its home module.
    """
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    documented = _documented_objects(logger)
    for module in _public_modules(logger):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if name in API_EXEMPT or any(obj is seen for seen in documented):
                continue
            logger.warning(
                f"public name {module.__name__}.{name} is not listed in api.rst", location="api"
            )


_TYPE_LINE = re.compile(r"^(\s*[*\w][\w, *]* : )(.+)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[\s,)\]]|$)")
_LEADING_STAR = re.compile(r"(?<![*\\])\*(?=\w)")


def escape_type_specs(app, what, name, obj, options, lines):
    """Escape reST markup in numpydoc type specs, as scikit-learn writes them.

    ``ndarray of shape (n_features_in_,)`` would make ``n_features_in_`` a link target and
    ``(n, *volume_size)`` start an emphasis; in the ``name : type`` lines of a docstring the
    trailing underscores and the leading stars are escaped before numpydoc renders them.
    Code in double backquotes is left alone.
    """
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if not match or "``" in match.group(2):
            continue
        spec = _TRAILING_UNDERSCORE.sub(r"\\_", match.group(2))
        lines[i] = match.group(1) + _LEADING_STAR.sub(r"\\*", spec)


def skip_member(app, what, name, obj, skip, options):
    """Hide scikit-learn's generated ``set_*_request`` metadata-routing methods.

    They exist on every estimator, say nothing specific to it, and their docstrings
    refer to scikit-learn's own user-guide labels, which do not exist offline.
    """
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return skip


def setup(app):
    app.connect("builder-inited", check_api_reference)
    app.connect("autodoc-skip-member", skip_member)
    app.connect("autodoc-process-docstring", escape_type_specs, priority=100)
