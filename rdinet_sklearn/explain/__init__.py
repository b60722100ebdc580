"""Explanations of fitted models: Grad-CAM heat maps of the 3D CNN's image branch."""

from .._lazy import attach

__all__ = [
    "gradcam",
    "plot_gradcam",
]

__getattr__, __dir__ = attach(
    __name__,
    {
        "._gradcam": ["gradcam", "plot_gradcam"],
    },
)
