"""Image preprocessing as in-fold pipeline steps: IBSI resampling, N4, intensity normalisation.

Each step takes a case table and returns it with the image (and, for :class:`Resampler`,
the mask) column pointing at preprocessed files, cached by content; put them in a Pipeline
before :class:`~rdinet_sklearn.radiomics.RadiomicsExtractor` or
:class:`~rdinet_sklearn.volumes.VolumeCropper`, so that whatever they learn (the cohort's
median spacing, Nyúl's landmarks) is learned on the training fold only.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._base": ["PreprocessingError", "PreprocessingWarning"],
        "._bias_field": ["BiasFieldCorrector"],
        "._ibsi_ct": ["CT_CONFIGURATIONS", "ct_pipeline", "ibsi_ct_compliance"],
        "._normalizer": ["IntensityNormalizer"],
        "._resampler": ["Resampler"],
        "._resegmenter": ["Resegmenter"],
    },
)
