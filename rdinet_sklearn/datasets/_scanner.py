"""``ScannerShift``: how a second scanner's images of the same patients differ from the first's."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from numbers import Real

import numpy as np

SPACING_FACTOR_RANGE = (0.9, 2.0)
"""Allowed factors on the in-plane and slice spacing: below 0.9 the field of view (the array
shape is kept) would cut into the orbits, above 2 the muscles are a few voxels thick."""


def _is_real(value):
    return isinstance(value, Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class ScannerShift:
    r"""Acquisition differences of a simulated second scanner, for :func:`make_ted_cohort`.

    MRI signal is in arbitrary units and every scanner, coil and protocol renders the same
    anatomy differently. With ``make_ted_cohort(..., scanner_shift=ScannerShift())`` every
    patient is imaged as on such a scanner; the anatomy, the latent disease state, the
    response and the clinical table stay exactly those of the same ``random_state`` without
    the shift, so the two cohorts are the same patients scanned twice.

    Parameters
    ----------
    intensity_scale : float, default=2.0
        Global gain of the stored values (another scanner's arbitrary-unit scaling), applied
        to the noisy magnitude image.
    bias_field : float, default=0.3
        Amplitude :math:`A` of a fixed multiplicative receive-coil field
        :math:`\exp(A\,(0.8\,x + 0.6\,y))` over the field of view, with :math:`x` (columns,
        towards the patient's left) and :math:`y` (rows, downwards) scaled to [-1, 1]: the
        signal falls from the lower left to the upper right corner by a factor
        :math:`e^{2.8A}` (2.3 at the default); at the two orbits (:math:`x \approx \pm 0.5`)
        it differs by :math:`e^{0.8A}` (27 %). It multiplies the patient's own smooth bias
        field.
    spacing : tuple of 2 float, default=(1.2, 4/3)
        Factors on the in-plane pixel spacing and on the slice spacing, each in [0.9, 2]; the
        array shape is kept, so the field of view grows with them. At the default shape the
        first scanner's 0.5 x 0.5 x 3 mm becomes 0.6 x 0.6 x 4 mm: fewer voxels per muscle,
        more partial volume and texture at a coarser physical scale.
    noise_scale : float, default=1.5
        Factor on the Rician noise SD before the gain (a lower-field or faster protocol):
        muscle SNR about 11 at the first scanner, 7 at the default shift.

    See Also
    --------
    make_ted_cohort : Writes a cohort, optionally as seen by a shifted scanner.
    rdinet_sklearn.harmonization.ComBatHarmonizer : Removes such shifts from radiomics
        features.

    Notes
    -----
    pyradiomics' ``normalize: true`` (used by the bundled presets) z-scores each whole image,
    which removes ``intensity_scale`` alone, but not what the other three do to the muscles'
    features: the bias field changes the muscles' signal relative to the whole image and
    widens the two orbits' joint histogram, the larger field of view adds air (and so moves
    the mean and SD that normalisation divides by), and the noise and coarser voxels change
    every texture feature. In the synthetic cohort of 147 patients at the default shape the
    default shift moves 38 of the 107 ``original`` MR+LR features by more than one
    between-patient SD (median 0.64 SD). What that costs depends on the model: the quick
    preset's RBF-SVM, trained on 147 patients of the first scanner, has AUC 0.873 on 147
    external patients (``random_state=1``) and 0.770 on the same patients after the shift;
    with :class:`~rdinet_sklearn.harmonization.ComBatHarmonizer` (``unseen="estimate"``)
    0.867 (paired DeLong p = 0.006). A logistic regression keeps its AUC (0.89 to 0.88) but
    loses its calibration. See ``benchmarks/bench_harmonization.py``. On small images
    (e.g. ``shape=(12, 64, 112)``) the default shift barely moves the features; a stronger
    one (``bias_field=0.6, noise_scale=2.0, spacing=(1.5, 1.5)``) costs the SVM 0.14 AUC,
    which ComBat recovers (``tests/test_external_harmonization.py``).

    Examples
    --------
    >>> from rdinet_sklearn.datasets import ScannerShift
    >>> shift = ScannerShift()
    >>> shift.intensity_scale, shift.bias_field, shift.spacing, shift.noise_scale
    (2.0, 0.3, (1.2, 1.3333333333333333), 1.5)
    >>> ScannerShift(noise_scale=1.0).as_dict()["noise_scale"]
    1.0
    """

    intensity_scale: float = 2.0
    bias_field: float = 0.3
    spacing: tuple = (1.2, 4 / 3)
    noise_scale: float = 1.5

    def __post_init__(self):
        positive = {"intensity_scale": self.intensity_scale, "noise_scale": self.noise_scale}
        for name, value in positive.items():
            if not _is_real(value) or not value > 0 or not math.isfinite(value):
                raise ValueError(f"ScannerShift {name} must be a positive number; got {value!r}.")
        if not _is_real(self.bias_field) or not math.isfinite(self.bias_field):
            raise ValueError(f"ScannerShift bias_field must be a number; got {self.bias_field!r}.")
        low, high = SPACING_FACTOR_RANGE
        try:
            spacing = tuple(self.spacing)
        except TypeError:
            spacing = ()
        if len(spacing) != 2 or not all(_is_real(f) and low <= f <= high for f in spacing):
            raise ValueError(
                f"ScannerShift spacing must be two factors (in-plane, slice) in [{low}, {high}]; "
                f"got {self.spacing!r}."
            )
        spacing = tuple(float(f) for f in spacing)
        object.__setattr__(self, "spacing", spacing)

    @classmethod
    def coerce(cls, value):
        """``None``, ``"default"``, a mapping of fields or a ScannerShift -> ScannerShift or None.

        Parameters
        ----------
        value : None, "default", dict or ScannerShift
            What ``make_ted_cohort(scanner_shift=...)`` accepts.

        Returns
        -------
        shift : ScannerShift or None
            None when ``value`` is None.

        Examples
        --------
        >>> from rdinet_sklearn.datasets import ScannerShift
        >>> ScannerShift.coerce({"bias_field": 0.0}).bias_field
        0.0
        """
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, str) and value == "default":
            return cls()
        if isinstance(value, dict):
            unknown = sorted(set(value) - {f.name for f in fields(cls)})
            if unknown:
                raise ValueError(
                    f"unknown scanner_shift key(s) {unknown}; known: "
                    f"{[f.name for f in fields(cls)]}."
                )
            return cls(**value)
        raise ValueError(
            f"scanner_shift must be None, 'default', a dict or a ScannerShift; got {value!r}."
        )

    def as_dict(self):
        """The fields as a JSON-able dict (as recorded in ``cohort.json``).

        Returns
        -------
        fields : dict
            ``intensity_scale``, ``bias_field``, ``spacing`` (a list) and ``noise_scale``.

        Examples
        --------
        >>> from rdinet_sklearn.datasets import ScannerShift
        >>> ScannerShift().as_dict()["spacing"]
        [1.2, 1.3333333333333333]
        """
        values = asdict(self)
        values["spacing"] = list(values["spacing"])
        return values


NO_SHIFT = ScannerShift(intensity_scale=1.0, bias_field=0.0, spacing=(1.0, 1.0), noise_scale=1.0)
"""The first scanner: every factor 1 and no field, so the rendering is unchanged bit for bit."""


def coil_field(shape, amplitude):
    """The fixed receive-coil field ``exp(A (0.8 x + 0.6 y))`` (float32, ones when A = 0)."""
    _, n_rows, n_cols = shape
    y = np.linspace(-1, 1, n_rows, dtype=np.float32)[None, :, None]
    x = np.linspace(-1, 1, n_cols, dtype=np.float32)[None, None, :]
    return np.exp(float(amplitude) * (0.8 * x + 0.6 * y))
