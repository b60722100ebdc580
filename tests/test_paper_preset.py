"""The ``paper`` preset's deep path at its real depth and crop shape, on a few patients.

What the ``paper`` preset runs on a GPU (ResNet-50 bottlenecks, 32x128x128 crops of both
orbits, RDINet with k=3 on top, pyradiomics with filtered images) differs from the
``quick`` preset's CPU-sized networks; this test keeps that path from breaking silently.
Only the sizes that cost time without changing the code path are cut: 24 patients, one
epoch, 2 folds, batch 4, one ROI strategy, and the network's width (``widen_factor``; the
depth and the crop shape are the paper's). Timings are in ``benchmarks/bench_paper_cpu.py``.
"""

import re

import joblib
import numpy as np
import pytest
from monai.networks.nets.resnet import ResNetBottleneck

from rdinet_sklearn.study import make_config, run_study
from rdinet_sklearn.volumes import clear_volume_cache, volume_cache_info

PAPER_CUT = [
    "deep.max_epochs=1",
    "deep.cv_folds=2",
    "deep.rois=[MR+LR]",
    "deep.batch_size=4",
    "deep.widen_factor=0.125",
    "cv_folds=2",
    "radiomics.roi_strategies=[MR+LR]",
    "comparison.repeats=0",
    "n_jobs=1",
]
DEEP_MODELS = ("ResNet MR+LR", "RDINet MR+LR", "RDINet+clinical MR+LR")


@pytest.fixture(scope="module")
def paper_study(small_cohort, tmp_path_factory):
    cases, y = small_cohort
    out = tmp_path_factory.mktemp("paper_study")
    config = make_config("paper", overrides=PAPER_CUT)
    clear_volume_cache()
    results = run_study(cases, y, config=config, out=out, progress=False)
    return results, out, cases, volume_cache_info()


@pytest.mark.slow
def test_paper_preset_keeps_depth_50_and_the_crop_shape(paper_study):
    results, _, _, cache = paper_study
    config = results["config"]
    assert config["preset"] == "paper" and config["radiomics"]["params"] == "study"
    assert config["deep"]["depth"] == 50 and config["deep"]["k"] == 3
    for name in DEEP_MODELS:
        net = joblib.load(results["models"][name]["model_file"])
        if name != "ResNet MR+LR":
            net = net.named_steps["clf"]
        assert tuple(net.cropper_.volume_size) == (32, 128, 128)
        backbone = net.module_.backbone
        stages = [backbone.layer1, backbone.layer2, backbone.layer3, backbone.layer4]
        assert [len(stage) for stage in stages] == [3, 4, 6, 3]  # ResNet-50's bottlenecks
        assert all(isinstance(block, ResNetBottleneck) for stage in stages for block in stage)
    # every network read the same 24 cropped cases: 2 orbits x 32x128x128 float32 each
    assert cache.entries == 24
    assert cache.nbytes == 24 * 2 * 32 * 128 * 128 * 4


@pytest.mark.slow
def test_paper_preset_fits_every_family_and_writes_the_report(paper_study):
    results, out, cases, _ = paper_study
    models = results["models"]
    assert {m["family"] for m in models.values()} == {
        "radiomics",
        "resnet",
        "rdinet",
        "rdinet_clinical",
    }
    assert len([m for m in models.values() if m["family"] == "radiomics"]) == 3
    for name in DEEP_MODELS:
        assert len(models[name]["cv"]["test_roc_auc"]) == 2  # deep.cv_folds
        stage = joblib.load(out / "stages" / f"{re.sub('[^a-z0-9]+', '_', name.lower())}.joblib")
        proba = stage["proba_test"]
        assert proba.shape == (len(results["split"]["test"]),)
        assert np.all((proba >= 0) & (proba <= 1))
    # the saved ResNet predicts exactly as the study did
    test = cases.loc[results["split"]["test"]]
    model = joblib.load(models["ResNet MR+LR"]["model_file"])
    stage = joblib.load(out / "stages" / "resnet_mr_lr.joblib")
    np.testing.assert_allclose(model.predict_proba(test)[:, 1], stage["proba_test"], rtol=1e-5)
    report = (out / "report.html").read_text()
    assert "paper preset" in report
    assert all(name in report for name in DEEP_MODELS)
