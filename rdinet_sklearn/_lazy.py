"""Lazy package exports (PEP 562): a name is imported from its module on first access.

``import rdinet_sklearn`` (and ``rdinet --help``) must not pay for torch, pyradiomics or
SimpleITK. Each package ``__init__`` lists which module defines each public name, and
:func:`attach` returns the module-level ``__getattr__`` and ``__dir__`` that import it on
first use, so ``from rdinet_sklearn.nn import RDINetClassifier``, ``rdinet_sklearn.nn``,
``dir()``, ``help()`` and Sphinx's autosummary behave as with eager imports. The same idea
as ``lazy_loader.attach`` (scikit-image); written here because it is a dozen lines and
another dependency would cost more.
"""

from __future__ import annotations

import importlib
import sys


def attach(package, exports, submodules=()):
    """``(__getattr__, __dir__, __all__)`` for a package whose names live in its submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to list of str
        ``{".submodule": [names defined there]}``, relative to ``package``.
    submodules : iterable of str, default=()
        Subpackages reachable as attributes (``rdinet_sklearn.nn``) without an import.

    Returns
    -------
    getattr, dir : callable
        To be bound as the package's ``__getattr__`` and ``__dir__``.
    all : list of str
        The package's ``__all__``: the exported names, in the order given.
    """
    home = {name: module for module, names in exports.items() for name in names}
    submodules = set(submodules)

    def __getattr__(name):
        if name in home:
            value = getattr(importlib.import_module(home[name], package), name)
        elif name in submodules:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(home) | submodules)

    return __getattr__, __dir__, list(home)
