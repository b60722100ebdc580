"""Explanations of fitted models: Grad-CAM heat maps of the 3D CNN's image branch."""

from ._gradcam import gradcam, plot_gradcam

__all__ = ["gradcam", "plot_gradcam"]
