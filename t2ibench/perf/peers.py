"""Peer-library plumbing: a t2ibench feature extractor seen by torch-fidelity, and PNG reading.

torch-fidelity computes IS/FID/KID with any :class:`torch_fidelity.FeatureExtractorBase`
registered under a name (``torch_fidelity.register_feature_extractor``). :func:`torch_fidelity_name`
registers one that runs a given t2ibench :class:`~t2ibench.features.base.FeatureExtractor` module
(the same weights and preprocessing as the single pass), so the two sides' numbers are the same
function of the same images and the comparison times only the pipelines around the network.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import torch

from t2ibench.data.image_files import open_rgb, to_uint8_tensor
from t2ibench.features.base import FeatureExtractor

_counter = itertools.count()
#: torch-fidelity metric name -> the t2ibench role its features come from
_ROLE_OF_METRIC = {"isc": "logits", "fid": "embedding", "kid": "embedding", "prc": "embedding"}


def torch_fidelity_name(extractor: FeatureExtractor) -> str:
    """Register ``extractor`` with torch-fidelity under a new unique name and return the name.

    Its features are the extractor's outputs by name; the default layer for ``isc`` is the
    output of role ``logits`` and for ``fid``/``kid``/``prc`` that of role ``embedding``."""
    from torch_fidelity import FeatureExtractorBase, register_feature_extractor

    outputs = tuple(extractor.outputs)
    defaults = {metric: extractor.roles[role] for metric, role in _ROLE_OF_METRIC.items() if role in extractor.roles}

    class Wrapped(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):  # kwargs: calculate_metrics' arguments
            super().__init__(name, features_list)
            self.net = extractor

        @staticmethod
        def get_provided_features_list():
            return outputs

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            if metric not in defaults:
                raise ValueError(f"{extractor.name} has no output for torch-fidelity's {metric!r}")
            return defaults[metric]

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            raise NotImplementedError

        def forward(self, x):
            out = self.net(x)
            return tuple(out[f] for f in self.features_list)

    name = f"t2ibench-perf-{extractor.name}-{next(_counter)}"
    register_feature_extractor(name, Wrapped)
    return name


def read_pngs(files) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` of the image files (decoded with PIL, as a user's loop does)."""
    return torch.stack([to_uint8_tensor(open_rgb(Path(f))) for f in files])
