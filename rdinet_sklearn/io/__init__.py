"""Saving and loading fitted models: a pickle-free format, and version checks.

Two ways to save a fitted model (a Pipeline with radiomics, selectors and networks):

* ``joblib.dump(model, path)`` / ``joblib.load(path)``: complete and fast, but loading runs
  code from the file, so load only files you trust. Estimators record the package versions
  they were saved with and warn (:class:`~rdinet_sklearn._versions.VersionMismatchWarning`)
  when loaded with others.
* :func:`save` / :func:`load`: one zip archive of skops, safetensors, JSON and Parquet that
  is never unpickled; loading refuses types that are not trusted. Use it to exchange models.

A model trained on a GPU loads on a CPU-only machine either way (nets use ``device="auto"``).
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        ".._versions": ["VersionMismatchWarning", "dependency_versions"],
        "._folder": ["ModelFolderError", "folder_fingerprint", "load_model_folder"],
        "._nets": ["UntrustedError"],
        "._safe": ["TRUSTED_TYPES", "ModelFileError", "UntrustedModelError", "load", "save"],
    },
)
