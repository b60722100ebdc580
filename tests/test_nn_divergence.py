"""The divergence guard of the training core: non-finite losses, gradients and weights."""

import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from rdinet_sklearn.io import save
from rdinet_sklearn.nn import (
    DivergedFitError,
    RDINetClassifier,
    ResNet50Classifier,
    check_finite_weights,
)

# 24 cases in batches of 8: three optimizer steps per epoch
CPU_SIZE = {
    "depth": 10,
    "volume_size": (8, 24, 24),
    "max_epochs": 2,
    "batch_size": 8,
    "module__widen_factor": 0.25,
    "random_state": 0,
}


def _small(**params):
    return ResNet50Classifier(roi=("MR", "LR"), **{**CPU_SIZE, **params})


class InfiniteLoss(torch.nn.CrossEntropyLoss):
    """Cross-entropy times infinity: every training loss is non-finite."""

    def forward(self, logits, target):
        return super().forward(logits, target) * float("inf")


class PoisonGradients(Callback):
    """Puts an infinite gradient into the first layer at the given (1-based) steps, and
    records for each step whether the weights changed."""

    def __init__(self, steps):
        self.steps = steps

    def initialize(self):
        self.step_ = 0
        self.changed_ = []
        return self

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.before_ = [p.detach().clone() for p in net.module_.parameters()]

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.step_ += 1
        if self.step_ in self.steps:
            next(iter(named_parameters))[1].grad.fill_(float("inf"))

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            pairs = zip(net.module_.parameters(), self.before_, strict=True)
            self.changed_.append(any(not torch.equal(a, b) for a, b in pairs))


def _initial_weights(**params):
    net = _small(**params).initialize()
    return [p.detach().clone() for p in net.module_.parameters()]


def test_non_finite_loss_stops_the_fit_before_any_step(small_cohort):
    cases, y = small_cohort
    net = _small(criterion=InfiniteLoss)
    with pytest.raises(DivergedFitError) as caught:
        net.fit(cases, y)
    error = caught.value
    assert (error.estimator, error.epoch, error.batch, error.quantity) == (
        "ResNet50Classifier",
        1,
        1,
        "loss",
    )
    message = str(error)
    for remedy in ("lower lr", "precision='fp32'", "GradientNormClipping", "divergence='skip'"):
        assert remedy in message
    assert "lr=0.001" in message and "precision='auto'" in message
    # the step was never applied: the weights are still the initial ones
    for fitted, initial in zip(net.module_.parameters(), _initial_weights(), strict=True):
        assert torch.equal(fitted.detach(), initial)


def test_non_finite_gradient_names_its_epoch_and_batch(small_cohort):
    cases, y = small_cohort
    poison = PoisonGradients(steps={5})  # epoch 2, batch 2
    with pytest.raises(DivergedFitError, match="non-finite gradient at epoch 2, batch 2"):
        _small(callbacks=[("poison", poison)]).fit(cases, y)
    assert poison.changed_ == [True] * 4  # four good steps applied, the fifth refused


def test_skip_mode_skips_and_counts_the_bad_steps(small_cohort):
    cases, y = small_cohort
    poison = PoisonGradients(steps={2, 6})
    net = _small(divergence="skip", callbacks=[("poison", poison)]).fit(cases, y)
    assert net.n_skipped_steps_ == 2
    skipped = [b["skipped_step"] for row in net.history for b in row["batches"]]
    assert skipped == [False, True, False, False, False, True]
    assert poison.changed_ == [not s for s in skipped]  # a skipped step changes no weight
    assert all(torch.isfinite(p).all() for p in net.module_.parameters())
    assert np.isfinite(net.predict_proba(cases)).all()


def test_skip_mode_survives_a_loss_that_is_never_finite(small_cohort):
    cases, y = small_cohort
    net = _small(criterion=InfiniteLoss, divergence="skip").fit(cases, y)
    assert net.n_skipped_steps_ == 6
    for fitted, initial in zip(net.module_.parameters(), _initial_weights(), strict=True):
        assert torch.equal(fitted.detach(), initial)


def test_a_fit_ending_with_non_finite_weights_raises(small_cohort):
    cases, y = small_cohort
    net = _small(max_epochs=1).fit(cases, y)
    assert net.n_skipped_steps_ == 0
    # a NaN running variance is never repaired by training (its update keeps the NaN)
    net.module_.backbone.bn1.running_var.fill_(float("nan"))
    with pytest.raises(DivergedFitError, match="non-finite weights at epoch 2") as caught:
        net.partial_fit(cases, y)
    assert caught.value.batch is None and caught.value.quantity == "weights"


def test_a_diverged_model_is_never_saved(small_cohort, tmp_path):
    cases, y = small_cohort
    net = _small(max_epochs=1).fit(cases, y)
    check_finite_weights(net)  # a good model passes
    with torch.no_grad():
        net.module_.head.weight[0, 0] = float("inf")
    with pytest.raises(DivergedFitError, match="non-finite weights"):
        save(net, tmp_path / "diverged.model")
    assert not (tmp_path / "diverged.model").exists()


def test_the_fusion_network_is_guarded_too(small_cohort):
    cases, y = small_cohort
    clinical = cases[["image", "mask", "age"]]
    net = RDINetClassifier(("MR", "LR"), fusion="tabular", criterion=InfiniteLoss, **CPU_SIZE)
    with pytest.raises(DivergedFitError, match="RDINetClassifier diverged: non-finite loss"):
        net.fit(clinical, y)


def test_error_round_trips_through_pickle_as_a_study_record():
    error = DivergedFitError("RDINetClassifier", 3, 7, "gradient", "lr=0.01")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error)
    assert again.as_record() == {
        "status": "diverged",
        "estimator": "RDINetClassifier",
        "epoch": 3,
        "batch": 7,
        "quantity": "gradient",
        "message": str(error),
    }


def test_divergence_parameter_is_validated(small_cohort):
    from rdinet_sklearn._sklearn_compat import InvalidParameterError

    cases, y = small_cohort
    with pytest.raises(InvalidParameterError, match="'divergence' parameter"):
        _small(divergence="ignore").fit(cases, y)
