"""Face embedding networks, by architecture name (the name stored in checkpoints)."""
from ml.faces.nets.compact_resnet import CompactResNet
from ml.faces.nets.dlib_resnet import DlibResNet

ARCHITECTURES = {"dlib_resnet": DlibResNet, "compact_resnet": CompactResNet}


def build_network(architecture: str, **kwargs):
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}") from None
    return cls(**kwargs)
