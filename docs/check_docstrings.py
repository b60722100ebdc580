"""List public classes and functions whose docstrings miss an Examples section or misstate
their parameters.

Public means: named in ``__all__`` of ``rdinet_sklearn`` or of one of its public
subpackages. Checked with numpydoc's validator:

* ``EX01``: no Examples section (every public object should show a runnable doctest);
* ``PR01``: a parameter of the signature is not documented;
* ``PR02``: a documented parameter does not exist in the signature.

Usage: ``python docs/check_docstrings.py [--strict]``. Prints one line per problem; exits 1
only with ``--strict`` and at least one problem, so the docs build reports without blocking.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys

from numpydoc.validate import validate

import rdinet_sklearn

CHECKS = ("EX01", "PR01", "PR02")


def public_modules():
    """``rdinet_sklearn`` and its public submodules, and ``(name, error)`` of broken ones."""
    modules, broken = [rdinet_sklearn], []
    for info in pkgutil.iter_modules(rdinet_sklearn.__path__, "rdinet_sklearn."):
        if info.name.rsplit(".", 1)[1].startswith("_"):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except Exception as exc:  # report it with the docstring problems, check the rest
            broken.append((info.name, exc))
    return modules, broken


def public_objects(modules):
    """Yield ``(import path, object)`` for every public class and function."""
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj


def problems(checks=CHECKS):
    """``(import path, code, message)`` for each failed check (``IMPORT`` for a module)."""
    modules, broken = public_modules()
    for name, exc in broken:
        yield name, "IMPORT", f"cannot import: {exc}"
    for path, _ in public_objects(modules):
        for code, message in validate(path)["errors"]:
            if code in checks:
                yield path, code, message


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 if any problem is found")
    args = parser.parse_args(argv)
    found = list(problems())
    for path, code, message in found:
        print(f"{code} {path}: {message}")
    print(f"check_docstrings: {len(found)} problem(s) ({', '.join(CHECKS)})")
    return 1 if args.strict and found else 0


if __name__ == "__main__":
    sys.exit(main())
