"""Online augmentation of training batches: Gaussian noise, small rotations, scaling.

The study augments with random Gaussian noise, random rotation and random scaling. We apply
them to a whole batch at once with torch ops (one ``affine_grid`` + ``grid_sample`` call for
the geometric part, one ``randn`` for the noise) rather than with MONAI's per-sample array
transforms (``RandRotate``, ``RandZoom``, ``RandGaussianNoise``): the batch is already a tensor
on the training device, so on a GPU the augmentation runs there in a few kernels instead of
sixteen CPU resamplings per step, and rotation and scaling are composed into a single affine
so each volume is interpolated once, not once per transform. Both act in-plane (see
:class:`RandomRotation`), which makes the resampling 2D: cheaper than a 3D one.

Each transform is a small object with explicit parameters (so estimators holding them stay
clone-safe); randomness comes from a :class:`torch.Generator` owned by
:class:`BatchAugmentation`, seeded once per fit, so a fit with a fixed ``random_state`` sees the
same augmented batches every time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _apply_with_probability(n, prob, generator, device):
    """Boolean mask of shape (n,), True with probability ``prob`` per sample."""
    return torch.rand(n, generator=generator, device=device) < prob


class RandomGaussianNoise:
    """Add zero-mean Gaussian noise of standard deviation ``std`` (intensity transform).

    Volumes are z-scored by :class:`~rdinet_sklearn.volumes.VolumeCropper`, so ``std`` is in
    units of the box's intensity standard deviation.

    Parameters
    ----------
    std : float, default=0.1
        Standard deviation of the noise.
    prob : float, default=0.5
        Probability that a given sample of the batch receives noise.

    See Also
    --------
    BatchAugmentation : Applies transforms to training batches.

    Examples
    --------
    A transform is called with a batch and a :class:`torch.Generator`:

    >>> import torch
    >>> from rdinet_sklearn.volumes import RandomGaussianNoise
    >>> batch = torch.zeros(3, 1, 2, 4, 4)  # (n, channels, D, H, W)
    >>> generator = torch.Generator().manual_seed(0)
    >>> noisy = RandomGaussianNoise(std=0.1, prob=1.0)(batch, generator)
    >>> noisy.shape, bool((noisy != 0).flatten(1).all(dim=1).all())  # every sample
    (torch.Size([3, 1, 2, 4, 4]), True)
    >>> torch.equal(RandomGaussianNoise(prob=0.0)(batch, generator), batch)
    True
    """

    def __init__(self, std=0.1, prob=0.5):
        self.std = std
        self.prob = prob

    def __call__(self, volume, generator):
        n = volume.shape[0]
        chosen = _apply_with_probability(n, self.prob, generator, volume.device)
        noise = torch.randn(volume.shape, generator=generator, device=volume.device)
        weight = (chosen.to(volume.dtype) * self.std).view(n, *([1] * (volume.ndim - 1)))
        return volume + weight * noise.to(volume.dtype)

    def __repr__(self):
        return f"RandomGaussianNoise(std={self.std}, prob={self.prob})"


class RandomRotation:
    """Rotate in-plane (about the slice axis) by a uniform angle in ``[-max_degrees, max_degrees]``.

    MR slices of the orbit are thick compared with the in-plane pixels, so only in-plane
    rotation is applied: tilting across slices would interpolate between distant slices.

    Parameters
    ----------
    max_degrees : float, default=10.0
        Largest rotation angle, in degrees.
    prob : float, default=0.5
        Probability that a given sample is rotated.

    See Also
    --------
    BatchAugmentation : Composes the geometric transforms into one resampling per sample.

    Examples
    --------
    ``sample_matrix`` draws one in-plane 2x2 rotation matrix per sample:

    >>> import torch
    >>> from rdinet_sklearn.volumes import RandomRotation
    >>> generator = torch.Generator().manual_seed(0)
    >>> matrices = RandomRotation(max_degrees=10.0, prob=1.0).sample_matrix(4, generator, "cpu")
    >>> matrices.shape
    torch.Size([4, 2, 2])
    >>> angles = torch.rad2deg(torch.atan2(matrices[:, 1, 0], matrices[:, 0, 0]))
    >>> bool((angles.abs() <= 10.0).all()), torch.allclose(torch.det(matrices), torch.ones(4))
    (True, True)
    >>> RandomRotation(prob=0.0).sample_matrix(1, generator, "cpu")  # not rotated
    tensor([[[1., -0.],
             [0., 1.]]])
    """

    def __init__(self, max_degrees=10.0, prob=0.5):
        self.max_degrees = max_degrees
        self.prob = prob

    def sample_matrix(self, n, generator, device):
        """(n, 2, 2) in-plane sampling matrices in (x, y) voxel coordinates about the centre."""
        chosen = _apply_with_probability(n, self.prob, generator, device)
        uniform = torch.rand(n, generator=generator, device=device) * 2 - 1
        angle = torch.where(chosen, uniform * math.radians(self.max_degrees), 0.0)
        cos, sin = torch.cos(angle), torch.sin(angle)
        return torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)

    def __repr__(self):
        return f"RandomRotation(max_degrees={self.max_degrees}, prob={self.prob})"


class RandomScaling:
    """Zoom in-plane by a factor drawn uniformly from ``scale_range`` (same on rows and columns).

    A factor above 1 enlarges the content (zoom in); the field of view stays the same. As for
    rotation, slices are left alone: zooming across thick slices would blend distant ones.

    Parameters
    ----------
    scale_range : tuple of float, default=(0.9, 1.1)
        Smallest and largest zoom factor.
    prob : float, default=0.5
        Probability that a given sample is scaled.

    See Also
    --------
    BatchAugmentation : Composes the geometric transforms into one resampling per sample.

    Examples
    --------
    ``sample_matrix`` draws one sampling matrix per sample, the identity divided by the
    zoom factor:

    >>> import torch
    >>> from rdinet_sklearn.volumes import RandomScaling
    >>> generator = torch.Generator().manual_seed(0)
    >>> matrices = RandomScaling((0.9, 1.1), prob=1.0).sample_matrix(4, generator, "cpu")
    >>> factors = 1 / matrices[:, 0, 0]
    >>> bool(((factors >= 0.9) & (factors <= 1.1)).all())
    True
    >>> torch.equal(matrices[:, 0, 0], matrices[:, 1, 1]), bool((matrices[:, 0, 1] == 0).all())
    (True, True)
    """

    def __init__(self, scale_range=(0.9, 1.1), prob=0.5):
        self.scale_range = scale_range
        self.prob = prob

    def sample_matrix(self, n, generator, device):
        """(n, 2, 2) in-plane sampling matrices: coordinates are divided by the zoom factor."""
        low, high = self.scale_range
        chosen = _apply_with_probability(n, self.prob, generator, device)
        factor = low + (high - low) * torch.rand(n, generator=generator, device=device)
        factor = torch.where(chosen, factor, 1.0)
        return torch.eye(2, device=device) / factor.view(n, 1, 1)

    def __repr__(self):
        return f"RandomScaling(scale_range={self.scale_range}, prob={self.prob})"


def study_augmentations():
    """The study's three augmentations with this package's default strengths.

    Returns
    -------
    transforms : list
        New :class:`RandomRotation`, :class:`RandomScaling` and :class:`RandomGaussianNoise`
        instances with their default parameters, in the order they are applied.

    Examples
    --------
    >>> from rdinet_sklearn.volumes import study_augmentations
    >>> for transform in study_augmentations():
    ...     print(transform)
    RandomRotation(max_degrees=10.0, prob=0.5)
    RandomScaling(scale_range=(0.9, 1.1), prob=0.5)
    RandomGaussianNoise(std=0.1, prob=0.5)
    """
    return [RandomRotation(), RandomScaling(), RandomGaussianNoise()]


def resolve_augmentations(augmentation):
    """Turn an ``augmentation`` parameter value into a list of transforms.

    ``"study"`` gives :func:`study_augmentations`, ``None`` or ``"none"`` gives ``[]``, and a
    sequence of transforms is returned as a list.

    Parameters
    ----------
    augmentation : {"study", "none"}, None or sequence of transforms
        The classifiers' ``augmentation`` parameter. A transform is either geometric (has a
        ``sample_matrix(n, generator, device)`` method, like :class:`RandomRotation`) or an
        intensity transform called as ``transform(volume, generator)``.

    Returns
    -------
    transforms : list
        The transforms, in the order given.

    Raises
    ------
    ValueError
        If ``augmentation`` is another string.
    TypeError
        If an element is neither callable nor has a ``sample_matrix`` method.

    Examples
    --------
    >>> from rdinet_sklearn.volumes import RandomGaussianNoise, resolve_augmentations
    >>> [type(t).__name__ for t in resolve_augmentations("study")]
    ['RandomRotation', 'RandomScaling', 'RandomGaussianNoise']
    >>> resolve_augmentations("none"), resolve_augmentations(None)
    ([], [])
    >>> resolve_augmentations((RandomGaussianNoise(std=0.05),))
    [RandomGaussianNoise(std=0.05, prob=0.5)]
    """
    if augmentation is None or (isinstance(augmentation, str) and augmentation == "none"):
        return []
    if isinstance(augmentation, str):
        if augmentation == "study":
            return study_augmentations()
        raise ValueError(
            f"augmentation must be 'study', 'none', None or a list, got {augmentation!r}"
        )
    transforms = list(augmentation)
    for transform in transforms:
        if not (callable(transform) or hasattr(transform, "sample_matrix")):
            raise TypeError(
                f"augmentation {transform!r} is neither an intensity transform (callable) "
                "nor a geometric one (with a sample_matrix method)"
            )
    return transforms


class BatchAugmentation:
    """Apply transforms to a batch (n, channels, D, H, W) with a seeded generator.

    Geometric transforms (those with ``sample_matrix``, in-plane 2x2 matrices) are multiplied
    into one affine per sample and applied with a single bilinear resampling of every slice;
    intensity transforms (callables) follow, in the order given. Samples whose affine is the
    identity are not resampled. Outside the volume, zeros are sampled: the z-scored mean
    intensity.

    Parameters
    ----------
    transforms : list
        Transforms, e.g. from :func:`resolve_augmentations`.
    seed : int or None
        Seed of the generator; ``None`` draws a fresh one from torch.
    device : str or torch.device, default="cpu"
        Device of the batches (the generator must live there).

    Examples
    --------
    >>> import torch
    >>> from rdinet_sklearn.volumes import BatchAugmentation, study_augmentations
    >>> augment = BatchAugmentation(study_augmentations(), seed=0)
    >>> augment(torch.zeros(2, 1, 4, 8, 8)).shape
    torch.Size([2, 1, 4, 8, 8])
    """

    def __init__(self, transforms, *, seed, device="cpu"):
        self.transforms = list(transforms)
        self.generator = torch.Generator(device=device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

    def _resample(self, volume, matrices):
        moved = ~torch.all(
            torch.isclose(matrices, torch.eye(2, device=matrices.device).expand_as(matrices)),
            dim=(1, 2),
        )
        if not bool(moved.any()):
            return volume
        n, channels, depth, height, width = volume.shape
        # affine_grid works in normalised [-1, 1] coordinates per axis; conjugating with the
        # half-sizes makes the rotation act on voxel coordinates, so non-square slices are
        # rotated rather than sheared.
        half = torch.tensor(
            [(width - 1) / 2, (height - 1) / 2], device=volume.device, dtype=matrices.dtype
        ).clamp(min=0.5)
        normalised = matrices[moved] * half.view(1, 1, 2) / half.view(1, 2, 1)
        theta = torch.cat([normalised, normalised.new_zeros(normalised.shape[0], 2, 1)], dim=2)
        # The transform is in-plane, so every slice of every channel shares one 2D grid:
        # a bilinear 2D resampling of (channels x slices) planes, about half the work of a
        # trilinear 3D one.
        planes = volume[moved].reshape(-1, channels * depth, height, width)
        grid = F.affine_grid(theta.to(planes.dtype), list(planes.shape), align_corners=True)
        resampled = F.grid_sample(
            planes, grid, mode="bilinear", padding_mode="zeros", align_corners=True
        )
        out = volume.clone()
        out[moved] = resampled.reshape(-1, channels, depth, height, width)
        return out

    def __call__(self, volume):
        n, device = volume.shape[0], volume.device
        geometric = [t for t in self.transforms if hasattr(t, "sample_matrix")]
        if geometric:
            matrices = torch.eye(2, device=device).repeat(n, 1, 1)
            for transform in geometric:
                matrices = transform.sample_matrix(n, self.generator, device) @ matrices
            volume = self._resample(volume, matrices)
        for transform in self.transforms:
            if not hasattr(transform, "sample_matrix"):
                volume = transform(volume, self.generator)
        return volume
