"""A trainable ROI segmenter: predicted label maps as a case-table pipeline step."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._segmenter": [
            "MissingStructureWarning",
            "ROISegmenter",
            "SmallStructureWarning",
        ],
        "._weights": ["SegmenterWeightsError"],
    },
)
