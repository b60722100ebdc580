"""Orbit geometry of one synthetic patient: field of view, orbits, globe, optic nerve, recti.

All geometry lives in image-aligned millimetres ``(u, v, w)``: ``u`` along the columns (towards
the patient's left), ``v`` along the rows (downwards, i.e. inferior) and ``w`` along the slices
(from the orbital rim backwards to the apex). Every structure is an ellipse per coronal slice,
described by per-slice arrays of shape ``(n_slices, 1, 1)`` so it broadcasts over a slab.
"""

import math
from dataclasses import dataclass

import numpy as np

from .._cases import DEFAULT_LABELS

DEFAULT_SHAPE = (20, 128, 224)
NOMINAL_SPACING = (0.5, 0.5, 3.0)
"""In-plane (x, y) and slice spacing in mm at the default shape; other shapes keep the field of
view (about 112 x 64 x 60 mm) by scaling the spacing, so the anatomy stays life-sized."""

RECTUS_SIZE_MM = {"IR": (4.8, 9.5), "SR": (4.4, 10.0), "MR": (4.2, 9.5), "LR": (3.6, 9.0)}
"""Normal belly (thickness, width) of each rectus muscle in mm."""

SWELLING_THICKNESS = 0.22
SWELLING_WIDTH = 0.08
"""Log-scale change of muscle thickness / width per unit of swelling (activity or nuisance)."""

ORBIT_HALF_DISTANCE_MM = 28.0
ORBIT_SEMI_AXES_MM = (17.0, 15.5)
ORBIT_DEPTH_MM = 48.0
GLOBE_RADIUS_MM = 12.0
NERVE_RADIUS_MM = 1.7
SHEATH_RADIUS_MM = 2.6
BONE_THICKNESS_MM = 1.8


@dataclass(frozen=True)
class Ellipse:
    """One structure: per-slice centre, semi-axes (``a`` along ``angle``), presence."""

    cu: np.ndarray
    cv: np.ndarray
    a: np.ndarray
    b: np.ndarray
    angle: float
    present: np.ndarray

    def signed_distance(self, u, v, grow=0.0, shift=(0.0, 0.0)):
        """Approximate signed distance (mm, negative inside) via first-order Taylor expansion.

        Written by hand because no library evaluates a batch of ellipses on a grid; ``grow``
        dilates (or erodes, if negative) the ellipse and ``shift`` moves its centre.
        """
        # Python floats keep the float32 grids in float32 (NEP 50) - twice as fast.
        du = u - (self.cu + float(shift[0]))
        dv = v - (self.cv + float(shift[1]))
        cos, sin = float(np.cos(self.angle)), float(np.sin(self.angle))
        a = np.maximum(np.asarray(self.a + float(grow), dtype=np.float32), 1e-3)
        b = np.maximum(np.asarray(self.b + float(grow), dtype=np.float32), 1e-3)
        p = (du * cos + dv * sin) / a
        q = (dv * cos - du * sin) / b
        rho = np.sqrt(p * p + q * q)
        # |grad rho| lies between 1/max(a, b) and 1/min(a, b); the floor avoids 0/0 at the centre.
        grad = np.hypot(p / a, q / b) / np.maximum(rho, 1e-6)
        grad = np.maximum(grad, 1.0 / np.maximum(a, b))
        distance = (rho - 1.0) / grad
        return np.where(self.present, distance, np.inf)


def circle(cu, cv, radius, present):
    """A circular structure (nerve, globe section)."""
    return Ellipse(cu, cv, radius, radius, 0.0, present)


@dataclass(frozen=True)
class PatientGeometry:
    """Acquisition geometry and body habitus of one patient."""

    shape: tuple
    spacing: tuple  # (x, y, z) mm, SimpleITK order
    origin: tuple
    scale: float
    centre_uv: tuple
    rim_w: float

    def grid(self, rows, cols):
        """``(w, v, u)`` voxel-centre coordinates (mm) of a sub-block, broadcastable to 3D."""
        sx, sy, sz = self.spacing
        w = (np.arange(self.shape[0], dtype=np.float32) * sz)[:, None, None]
        v = (np.arange(rows.start, rows.stop, dtype=np.float32) * sy)[None, :, None]
        u = (np.arange(cols.start, cols.stop, dtype=np.float32) * sx)[None, None, :]
        return w, v, u


CORONAL_DIRECTION = (1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0)
"""LPS direction cosines of a coronal stack: columns -> left, rows -> inferior, slices ->
posterior."""


def sample_geometry(shape, rng, spacing_scale=(1.0, 1.0)):
    """Draw spacing, position and head size: patients differ as they would on a real scanner.

    ``spacing_scale`` multiplies the in-plane and slice spacing (a scanner with another
    protocol, see ``ScannerShift``); it draws nothing, so the rest of the patient is unchanged.
    """
    n_slices, n_rows, n_cols = shape
    in_plane = NOMINAL_SPACING[0] * max(DEFAULT_SHAPE[2] / n_cols, DEFAULT_SHAPE[1] / n_rows)
    in_plane *= rng.uniform(0.94, 1.06) * spacing_scale[0]
    slice_spacing = NOMINAL_SPACING[2] * DEFAULT_SHAPE[0] / n_slices * rng.uniform(0.9, 1.1)
    slice_spacing *= spacing_scale[1]
    fov_u, fov_v = n_cols * in_plane, n_rows * in_plane
    centre_uv = (fov_u / 2 + rng.normal(0, 1.0), fov_v / 2 + rng.normal(0, 1.5))
    origin = (-fov_u / 2 + rng.normal(0, 3), rng.normal(-10, 5), fov_v / 2 + rng.normal(0, 5))
    # Plain floats: NumPy scalars would silently promote the float32 grids to float64.
    return PatientGeometry(
        shape=tuple(int(n) for n in shape),
        spacing=(float(in_plane), float(in_plane), float(slice_spacing)),
        origin=tuple(float(o) for o in origin),
        scale=float(rng.uniform(0.94, 1.05)),
        centre_uv=tuple(float(c) for c in centre_uv),
        rim_w=float(rng.uniform(0.0, 3.0)),
    )


def muscle_angle(name, side):
    """Direction of a rectus from the orbit axis in the (u, v) image plane (v points down).

    ``side`` is -1 for the orbit at low column index (patient right) and +1 for the other one;
    the medial rectus points towards the midline, so the two orbits are mirror images.
    """
    towards_midline = 0.0 if side < 0 else math.pi
    return {
        "SR": -math.pi / 2,
        "IR": math.pi / 2,
        "MR": towards_midline,
        "LR": towards_midline + math.pi,
    }[name]


def orbit_axis(geometry, side, w):
    """Per-slice orbit centre and depth fraction ``t`` (0 at the rim, 1 at the apex)."""
    s = geometry.scale
    t = np.clip((w - geometry.rim_w) / (ORBIT_DEPTH_MM * s), 0.0, None)
    # The orbits converge medially and rise slightly towards the apex.
    cu = geometry.centre_uv[0] + side * (ORBIT_HALF_DISTANCE_MM - 12.0 * np.minimum(t, 1)) * s
    cv = geometry.centre_uv[1] - 2.0 * np.minimum(t, 1) * s
    return cu, cv, t


def orbit_walls(geometry, side, w):
    """Bony wall and fat-filled orbit cavity, both narrowing towards the apex."""
    cu, cv, t = orbit_axis(geometry, side, w)
    taper = (1 - 0.6 * np.minimum(t, 1)) * geometry.scale
    present = t <= 1
    ru, rv = ORBIT_SEMI_AXES_MM[0] * taper, ORBIT_SEMI_AXES_MM[1] * taper
    bone = Ellipse(cu, cv, ru + BONE_THICKNESS_MM, rv + BONE_THICKNESS_MM, 0.0, present)
    cavity = Ellipse(cu, cv, ru, rv, 0.0, present)
    return bone, cavity


def globe_and_nerve(geometry, side, w):
    """Globe (sphere just behind the rim) and optic nerve with its CSF sheath."""
    cu, cv, t = orbit_axis(geometry, side, w)
    radius = GLOBE_RADIUS_MM * geometry.scale
    depth = w - (geometry.rim_w + 4.0 * geometry.scale)
    globe_radius = np.sqrt(np.clip(radius**2 - depth**2, 0, None))
    globe = circle(cu, cv, globe_radius, globe_radius > 0.5)
    on_path = t <= 1
    sheath = circle(cu, cv, np.full_like(cu, SHEATH_RADIUS_MM), on_path)
    nerve = circle(cu, cv, np.full_like(cu, NERVE_RADIUS_MM), on_path)
    return globe, sheath, nerve


def rectus(geometry, side, w, name, swelling, angle_jitter):
    """One rectus muscle: a fusiform band hugging the orbit wall from insertion to apex."""
    s = geometry.scale
    cu, cv, t = orbit_axis(geometry, side, w)
    t_start, t_end = 6.0 / ORBIT_DEPTH_MM, 0.97
    along = np.clip((t - t_start) / (t_end - t_start), 0, 1)
    belly = np.clip(np.sin(np.pi * along), 0, 1) ** 0.6
    thickness, width = RECTUS_SIZE_MM[name]
    half_thick = 0.5 * thickness * s * math.exp(SWELLING_THICKNESS * swelling) * (0.4 + 0.6 * belly)
    half_width = (
        0.5 * width * s * math.exp(SWELLING_WIDTH * swelling) * (0.6 + 0.4 * belly) * (1 - 0.5 * t)
    )
    angle = float(muscle_angle(name, side) + angle_jitter)
    taper = (1 - 0.6 * np.minimum(t, 1)) * s
    ru, rv = ORBIT_SEMI_AXES_MM
    wall = (
        ru * rv / math.hypot(rv * math.cos(angle), ru * math.sin(angle))
    )  # ellipse radius at angle
    radial = np.maximum(wall * taper - half_thick - 0.2, SHEATH_RADIUS_MM + half_thick + 0.3)
    present = (t >= t_start) & (t <= t_end)
    return Ellipse(
        cu + radial * math.cos(angle),
        cv + radial * math.sin(angle),
        half_width,
        half_thick,
        angle + np.pi / 2,  # the long axis runs along the wall, across the radial direction
        present,
    )


def orbit_box(geometry, side):
    """Row and column slices enclosing one orbit (with margin), clipped to the image."""
    sx, sy, _ = geometry.spacing
    cu, cv, _ = orbit_axis(geometry, side, np.zeros(1))
    # The margin covers the medial drift of the narrowing orbit towards the apex.
    half_u = (ORBIT_SEMI_AXES_MM[0] + BONE_THICKNESS_MM + 4.0) * geometry.scale + 2 * sx
    half_v = (ORBIT_SEMI_AXES_MM[1] + BONE_THICKNESS_MM + 4.0) * geometry.scale + 2 * sy
    n_rows, n_cols = geometry.shape[1:]

    def span(centre, half, step, size):
        return slice(
            max(int((centre - half) / step), 0), min(int((centre + half) / step) + 2, size)
        )

    return span(cv[0], half_v, sy, n_rows), span(cu[0], half_u, sx, n_cols)


MUSCLE_ORDER = tuple(DEFAULT_LABELS)
