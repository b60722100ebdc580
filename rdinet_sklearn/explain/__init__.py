"""Explanations of fitted models: Grad-CAM heat maps of the 3D CNN's image branch."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._gradcam": ["gradcam", "plot_gradcam"],
    },
)
