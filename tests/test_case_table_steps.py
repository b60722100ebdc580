"""What the case-table steps share: parameter docs, the type check, names out, image writing.

The preprocessing steps take their common parameters (``image_column``, ``mask_column``,
``cache_dir``, ``n_jobs``) and their numpydoc entries from one base class; these tests keep
every public docstring complete, and the shared behaviour the same for every step. The real
MRI is read from ``../shared/data`` beside the repository (CI has it there; CC BY 3.0).
"""

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from numpydoc.docscrape import ClassDoc

from rdinet_sklearn._imaging import read_image, write_image
from rdinet_sklearn.explain import NegativeControl
from rdinet_sklearn.preprocessing import (
    BiasFieldCorrector,
    IntensityNormalizer,
    Resampler,
    Resegmenter,
)
from rdinet_sklearn.radiomics import RadiomicsExtractor

PREPROCESSING = [Resampler, BiasFieldCorrector, IntensityNormalizer, Resegmenter]
CASE_TABLE_STEPS = [*PREPROCESSING, RadiomicsExtractor, NegativeControl]
STS_IMAGE = (
    Path(__file__).resolve().parents[2]
    / "shared/data/real-dicom/sts/STS_001/MR_T1/nifti/image/image.nii.gz"
)


def documented(section, step):
    """Names of a numpydoc section; ``"a, b : str"`` documents both ``a`` and ``b``."""
    return [name.strip() for entry in ClassDoc(step)[section] for name in entry.name.split(",")]


@pytest.mark.parametrize("step", CASE_TABLE_STEPS, ids=lambda step: step.__name__)
def test_docstring_documents_every_parameter_in_signature_order(step):
    assert documented("Parameters", step) == list(inspect.signature(step).parameters)


@pytest.mark.parametrize("step", PREPROCESSING, ids=lambda step: step.__name__)
def test_shared_parameters_and_attributes_are_documented_once_the_same_way(step):
    params = {p.name: (p.type, p.desc) for p in ClassDoc(step)["Parameters"]}
    resampler = {p.name: (p.type, p.desc) for p in ClassDoc(Resampler)["Parameters"]}
    for name in ("image_column", "mask_column", "cache_dir", "n_jobs"):
        assert params[name] == resampler[name]
    assert documented("Attributes", step)[-2:] == ["n_features_in_", "feature_names_in_"]


@pytest.mark.parametrize("step", CASE_TABLE_STEPS, ids=lambda step: step.__name__)
def test_anything_but_a_case_table_is_refused_naming_the_step(step):
    with pytest.raises(TypeError, match=f"^{step.__name__} expects a case table .* got ndarray"):
        step().fit(np.zeros((2, 2)))


@pytest.mark.parametrize(
    "step",
    [Resampler(), BiasFieldCorrector(), IntensityNormalizer(), Resegmenter(), NegativeControl()],
    ids=lambda step: type(step).__name__,
)
def test_names_out_are_the_case_table_columns_seen_in_fit(step):
    cases = pd.DataFrame({"image": ["a.nii.gz"], "mask": ["a_mask.nii.gz"], "age": [50]})
    fitted = step.fit(cases)  # fit reads no file: paths are checked in transform
    assert fitted.get_feature_names_out().tolist() == ["image", "mask", "age"]
    assert fitted.get_feature_names_out(["image", "mask", "age"]).tolist() == [
        "image",
        "mask",
        "age",
    ]
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        fitted.get_feature_names_out(["image", "mask", "weight"])


@pytest.mark.skipif(not STS_IMAGE.is_file(), reason="../shared/data is not beside the repo")
def test_write_image_round_trips_a_real_mri_and_leaves_only_the_file(tmp_path):
    image = read_image(STS_IMAGE)
    target = tmp_path / "cases" / "STS_001.nii.gz"
    write_image(image, target)
    assert [p.name for p in target.parent.iterdir()] == ["STS_001.nii.gz"]
    written = sitk.ReadImage(str(target))
    np.testing.assert_array_equal(
        sitk.GetArrayViewFromImage(written), sitk.GetArrayViewFromImage(image)
    )
    np.testing.assert_allclose(written.GetSpacing(), image.GetSpacing(), rtol=1e-6)
    np.testing.assert_allclose(written.GetOrigin(), image.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(written.GetDirection(), image.GetDirection(), atol=1e-6)
    with open(target, "rb") as handle:
        assert handle.read(2) == b"\x1f\x8b"  # gzip-compressed, whatever the staging name


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "STS_001.nii.gz"
    with pytest.raises(TypeError):
        write_image("not an image", target)
    assert list(tmp_path.iterdir()) == []
