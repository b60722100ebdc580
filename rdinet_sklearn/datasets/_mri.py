"""Fat-suppressed T2-weighted signal of one synthetic patient, with two raters' label maps."""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .._cases import DEFAULT_LABELS
from ._anatomy import (
    MUSCLE_ORDER,
    Ellipse,
    PatientGeometry,
    globe_and_nerve,
    orbit_box,
    orbit_walls,
    rectus,
    sample_geometry,
)
from ._scanner import NO_SHIFT, coil_field

TISSUE_SIGNAL = {
    "soft_tissue": 230.0,
    "sinus": 40.0,
    "bone": 30.0,
    "fat": 60.0,  # fat is suppressed, so the orbit cavity is dark
    "vitreous": 650.0,
    "csf": 480.0,
    "nerve": 200.0,
    "muscle": 150.0,
}
"""Noise-free signal (arbitrary units) before gain, bias field and noise."""

NOISE_SD = 14.0
"""Standard deviation of each Gaussian channel of the Rician noise (varies +-15 % by patient)."""

SIGNAL_PER_SWELLING = 0.25
SIGNAL_PER_FIBROSIS = -0.12
TEXTURE_PER_FIBROSIS = 0.10
"""Planted signal: log muscle signal per unit swelling / fibrosis, and the SD of the
multiplicative fibrotic texture per unit ``softplus(fibrosis)``."""

MUSCLE_SWELLING_SD = 0.3
"""Per-orbit deviation of each muscle's swelling from the patient-level latent."""

RATER2_GROW_SD = 0.2
RATER2_SHIFT_SD = 0.2
RATER2_WOBBLE = 0.3
"""Rater-2 boundary disagreement in mm: erosion/dilation, centre shift, and the amplitude of a
smooth random boundary wobble (about half a voxel at the default resolution)."""

ACTIVITY_DRIVEN = ("MR", "LR")


@dataclass(frozen=True)
class RenderedPatient:
    image: np.ndarray  # int16, (slices, rows, cols)
    mask: np.ndarray  # uint8
    mask_rater2: np.ndarray  # uint8
    geometry: PatientGeometry


def _smooth_field(rng, shape, sigma_mm, spacing):
    """Unit-SD Gaussian random field with correlation length ``sigma_mm``."""
    sigma = [sigma_mm / spacing[2], sigma_mm / spacing[1], sigma_mm / spacing[0]]
    field = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma)
    return field / max(float(field.std()), 1e-6)


def _paint(image, structure, u, v, value, voxel_mm):
    """Composite a structure with a one-voxel partial-volume ramp at its border."""
    distance = structure.signed_distance(u, v)
    weight = np.clip(0.5 - distance / voxel_mm, 0.0, 1.0)
    image += weight * (value - image)
    return distance


def _muscle_swelling(latents, deviations):
    """Swelling of each muscle of each orbit: MR/LR follow activity, IR/SR their own nuisance."""
    base = {
        "MR": latents["activity"],
        "LR": latents["activity"],
        "IR": latents["nuisance_ir"],
        "SR": latents["nuisance_sr"],
    }
    return {
        (side, name): base[name] + deviations[i, j]
        for i, side in enumerate((-1, 1))
        for j, name in enumerate(MUSCLE_ORDER)
    }


def _muscle_signal(name, swelling, fibrosis, fibrosis_texture):
    """Oedema brightens and thickens; fibrosis darkens MR/LR and makes them heterogeneous."""
    log_signal = SIGNAL_PER_SWELLING * swelling
    if name not in ACTIVITY_DRIVEN:
        return TISSUE_SIGNAL["muscle"] * np.exp(log_signal)
    heterogeneity = TEXTURE_PER_FIBROSIS * np.logaddexp(0.0, fibrosis)  # softplus
    log_signal += SIGNAL_PER_FIBROSIS * fibrosis
    return TISSUE_SIGNAL["muscle"] * np.exp(log_signal) * (1 + heterogeneity * fibrosis_texture)


def _background(geometry, image, texture):
    """Soft tissue of the face and brain, air outside the head, ethmoid air cells at midline."""
    n_slices, n_rows, n_cols = geometry.shape
    w, v, u = geometry.grid(slice(0, n_rows), slice(0, n_cols))
    s, (cu, cv) = geometry.scale, geometry.centre_uv

    def per_slice(value):
        return np.full((n_slices, 1, 1), value, dtype=np.float32)

    everywhere = per_slice(True).astype(bool)
    head = Ellipse(per_slice(cu), per_slice(cv + 8 * s), 64 * s, 44 * s, 0.0, everywhere)
    soft = TISSUE_SIGNAL["soft_tissue"] * (1 + 0.1 * texture)
    _paint(image, head, u, v, soft, geometry.spacing[0])
    sinus_present = w < geometry.rim_w + 40 * s
    sinus = Ellipse(per_slice(cu), per_slice(cv + 2 * s), 7 * s, 13 * s, 0.0, sinus_present)
    _paint(image, sinus, u, v, TISSUE_SIGNAL["sinus"] * (1 + 0.3 * texture), geometry.spacing[0])


def _orbit(geometry, side, image, labels, fields, muscles, fibrosis):
    """Paint one orbit into views of the image and both label maps (in place)."""
    rows, cols = orbit_box(geometry, side)
    w, v, u = geometry.grid(rows, cols)
    view = image[:, rows, cols]
    texture, fibrosis_texture, wobble = (field[:, rows, cols] for field in fields)
    voxel = geometry.spacing[0]
    bone, cavity = orbit_walls(geometry, side, w)
    globe, sheath, nerve = globe_and_nerve(geometry, side, w)
    _paint(view, bone, u, v, TISSUE_SIGNAL["bone"], voxel)
    _paint(view, cavity, u, v, TISSUE_SIGNAL["fat"] * (1 + 0.15 * texture), voxel)
    _paint(view, sheath, u, v, TISSUE_SIGNAL["csf"], voxel)
    _paint(view, nerve, u, v, TISSUE_SIGNAL["nerve"], voxel)
    _paint(view, globe, u, v, TISSUE_SIGNAL["vitreous"], voxel)  # the nerve ends at the globe
    for name, (swelling, angle_jitter, grow, shift) in muscles.items():
        muscle = rectus(geometry, side, w, name, swelling, angle_jitter)
        value = _muscle_signal(name, swelling, fibrosis, fibrosis_texture)
        distance = _paint(view, muscle, u, v, value, voxel)
        labels[0][:, rows, cols][distance < 0] = DEFAULT_LABELS[name]
        distance2 = muscle.signed_distance(u, v, grow=grow, shift=shift)
        labels[1][:, rows, cols][distance2 + RATER2_WOBBLE * wobble < 0] = DEFAULT_LABELS[name]


def _bias_field(geometry, rng):
    """Smooth multiplicative coil-sensitivity field (quadratic in normalised coordinates)."""
    n_slices, n_rows, n_cols = geometry.shape
    z, y, x = np.meshgrid(
        *(np.linspace(-1, 1, n, dtype=np.float32) for n in geometry.shape), indexing="ij"
    )
    basis = (x, y, z, x * x, y * y, x * y)
    coef = rng.normal(0, 0.06, len(basis))
    return np.exp(sum(c * b for c, b in zip(coef, basis, strict=True)))


def render_patient(latents, shape, seed, scanner=NO_SHIFT):
    """Render image and label maps of one patient from its latent state and its own seed.

    ``scanner`` (a ``ScannerShift``) draws no random numbers: the same seed gives the same
    patient on every scanner, and ``NO_SHIFT`` multiplies by exact ones.
    """
    rng = np.random.default_rng(seed)
    geometry = sample_geometry(shape, rng, scanner.spacing)
    spacing = geometry.spacing
    fields = (
        _smooth_field(rng, shape, 3.0, spacing),
        _smooth_field(rng, shape, 0.6, spacing),
        _smooth_field(rng, shape, 1.5, spacing),
    )
    n_muscles = len(MUSCLE_ORDER)
    swelling = _muscle_swelling(latents, rng.normal(0, MUSCLE_SWELLING_SD, (2, n_muscles)))
    angle_jitter = rng.normal(0, 0.08, (2, n_muscles))
    grow = rng.normal(0, RATER2_GROW_SD, (2, n_muscles))
    shift = rng.normal(0, RATER2_SHIFT_SD, (2, n_muscles, 2))

    image = np.zeros(shape, dtype=np.float32)
    mask = np.zeros(shape, dtype=np.uint8)
    mask_rater2 = np.zeros(shape, dtype=np.uint8)
    _background(geometry, image, fields[0])
    fibrosis = float(latents["fibrosis"])
    for i, side in enumerate((-1, 1)):
        muscles = {
            name: (float(swelling[side, name]), angle_jitter[i, j], grow[i, j], tuple(shift[i, j]))
            for j, name in enumerate(MUSCLE_ORDER)
        }
        _orbit(geometry, side, image, (mask, mask_rater2), fields, muscles, fibrosis)

    gain = np.exp(rng.normal(0, 0.08))
    image *= gain * _bias_field(geometry, rng)
    if scanner.bias_field:
        image *= coil_field(shape, scanner.bias_field)
    sigma = NOISE_SD * rng.uniform(0.85, 1.15) * scanner.noise_scale
    noise = rng.standard_normal((2, *shape), dtype=np.float32) * sigma
    magnitude = np.hypot(image + noise[0], noise[1])  # Rician: magnitude of complex signal
    magnitude *= scanner.intensity_scale
    image = np.clip(np.rint(magnitude), 0, np.iinfo(np.int16).max).astype(np.int16)
    return RenderedPatient(image, mask, mask_rater2, geometry)
