"""Face embedding networks, by architecture name (the name stored in checkpoints)."""
from ml.faces.nets.base import DEFAULT_SPLIT, EmbeddingNetwork
from ml.faces.nets.compact_resnet import CompactResNet
from ml.faces.nets.dlib_resnet import DlibResNet
from ml.faces.nets.mobilefacenet import MobileFaceNet

ARCHITECTURES: dict[str, type[EmbeddingNetwork]] = {"dlib_resnet": DlibResNet, "compact_resnet": CompactResNet,
                                                 "mobilefacenet": MobileFaceNet}

__all__ = ["ARCHITECTURES", "DEFAULT_SPLIT", "EmbeddingNetwork", "build_network"]


def build_network(architecture: str, **kwargs) -> EmbeddingNetwork:
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}") from None
    return cls(**kwargs)
