"""Other face detectors, for bench/detect.py only: their packages are in requirements-bench.txt.

Each has the app detector's ``detect(pixels) -> [DetectedFace]`` over (H, W, 3) RGB
uint8 pixels, and sees the photo at the same longest side as the app's detector.
"""
from __future__ import annotations

import importlib.metadata

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn.functional import interpolate

from ml.faces.detect import DetectedFace, nms


class YuNetDetector:
    """YuNet (libfacedetection, BSD) as compiled into the ``yuface`` wheel, with its own
    pre- and post-processing; confidence is its 0..100 score / 100."""

    def __init__(self, *, side: int = 640, score_threshold: float = 0.5) -> None:
        import yuface  # noqa: F401  (fails early when requirements-bench.txt is not installed)

        self.side = side
        self.score_threshold = score_threshold

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        import yuface

        height, width = image.shape[:2]
        scale = min(1.0, self.side / max(height, width))
        small = image if scale == 1.0 else cv2.resize(
            image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        confs, boxes, landmarks = yuface.detect(np.ascontiguousarray(small[..., ::-1]), conf=self.score_threshold)
        faces = []
        for conf, (x, y, w, h), points in zip(confs, boxes.astype(float), landmarks.astype(float)):
            faces.append(DetectedFace((x / scale, y / scale, (x + w) / scale, (y + h) / scale),
                                      (points.reshape(5, 2) / scale).astype(np.float32), float(conf) / 100))
        return sorted(faces, key=lambda f: f.box[0])


def _mtcnn_nets():
    """P-, R- and O-Net as in facenet-pytorch (MIT), loaded from the weights its wheel
    ships; the package's own code needs torchvision, which cannot be imported here."""

    def stack(*layers):
        net = nn.Module()
        for name, layer in layers:
            net.add_module(name, layer)
        return net

    def convs(spec):
        layers = []
        for i, (cin, cout, kernel, pool) in enumerate(spec, 1):
            layers += [(f"conv{i}", nn.Conv2d(cin, cout, kernel)), (f"prelu{i}", nn.PReLU(cout))]
            if pool:
                layers.append((f"pool{i}", nn.MaxPool2d(*pool, ceil_mode=True)))
        return layers

    pnet = stack(*convs([(3, 10, 3, (2, 2)), (10, 16, 3, None), (16, 32, 3, None)]),
                 ("conv4_1", nn.Conv2d(32, 2, 1)), ("conv4_2", nn.Conv2d(32, 4, 1)))
    rnet = stack(*convs([(3, 28, 3, (3, 2)), (28, 48, 3, (3, 2)), (48, 64, 2, None)]),
                 ("dense4", nn.Linear(576, 128)), ("prelu4", nn.PReLU(128)),
                 ("dense5_1", nn.Linear(128, 2)), ("dense5_2", nn.Linear(128, 4)))
    onet = stack(*convs([(3, 32, 3, (3, 2)), (32, 64, 3, (3, 2)), (64, 64, 3, (2, 2)), (64, 128, 2, None)]),
                 ("dense5", nn.Linear(1152, 256)), ("prelu5", nn.PReLU(256)),
                 ("dense6_1", nn.Linear(256, 2)), ("dense6_2", nn.Linear(256, 4)), ("dense6_3", nn.Linear(256, 10)))
    try:
        package = importlib.metadata.distribution("facenet-pytorch")
    except importlib.metadata.PackageNotFoundError as missing:
        raise ImportError("facenet-pytorch is not installed") from missing
    for name, net in (("pnet", pnet), ("rnet", rnet), ("onet", onet)):
        weights = package.locate_file(f"facenet_pytorch/data/{name}.pt")
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        net.eval()
    return pnet, rnet, onet


def _run_convs(net, x, count):
    for i in range(1, count + 1):
        x = getattr(net, f"prelu{i}")(getattr(net, f"conv{i}")(x))
        if hasattr(net, f"pool{i}"):
            x = getattr(net, f"pool{i}")(x)
    return x


class MTCNNDetector:
    """MTCNN (Zhang et al. 2016) with facenet-pytorch's weights and its three stages:
    P-Net over an image pyramid, R-Net on 24 px crops, O-Net on 48 px crops with the five
    landmarks. The last NMS uses IoU (facenet-pytorch uses the smaller box's area)."""

    def __init__(self, *, side: int = 640, min_face: int = 20, thresholds=(0.6, 0.7, 0.7), factor: float = 0.709,
                 threads: int = 2) -> None:
        torch.set_num_threads(threads)
        self.side, self.min_face, self.thresholds, self.factor = side, min_face, thresholds, factor
        self.pnet, self.rnet, self.onet = _mtcnn_nets()

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        height, width = image.shape[:2]
        scale = min(1.0, self.side / max(height, width))
        small = image if scale == 1.0 else cv2.resize(
            image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        with torch.inference_mode():
            boxes, points, scores = self._stages(torch.tensor(small).permute(2, 0, 1)[None].float())
        return sorted((DetectedFace(tuple(float(v) for v in box / scale), (p / scale).astype(np.float32), float(s))
                       for box, p, s in zip(boxes, points, scores)), key=lambda f: f.box[0])

    def _stages(self, img):
        h, w = img.shape[2:]
        norm = lambda x: (x - 127.5) * 0.0078125  # noqa: E731
        # Stage 1: P-Net on a pyramid whose smallest face is min_face pixels.
        found = []
        step = 12.0 / self.min_face
        while min(h, w) * step >= 12:
            x = _run_convs(self.pnet, norm(interpolate(img, size=(int(h * step + 1), int(w * step + 1)), mode="area")), 3)
            prob = torch.softmax(self.pnet.conv4_1(x), dim=1)[0, 1].numpy()
            reg = self.pnet.conv4_2(x)[0].numpy()
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if len(ys):
                cells = np.stack([xs, ys], axis=1).astype(float)
                boxes = np.hstack([np.floor((2 * cells + 1) / step), np.floor((2 * cells + 12) / step)])
                candidates = np.hstack([boxes, prob[ys, xs, None], reg[:, ys, xs].T])
                found.append(candidates[nms(candidates[:, :4], candidates[:, 4], 0.5)])
            step *= self.factor
        if not found:
            return np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros(0)
        boxes = np.concatenate(found)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        size = boxes[:, 2:4] - boxes[:, 0:2]
        boxes = _square(boxes[:, :4] + boxes[:, 5:9] * np.hstack([size, size]))
        # Stage 2: R-Net refines on 24 px crops.
        boxes, reg, score, _ = self._refine(img, boxes, 24, self.rnet, 3, 1)
        keep = nms(boxes, score, 0.7)
        boxes = _square(_regress(boxes[keep], reg[keep]))
        # Stage 3: O-Net scores, refines and places the landmarks on 48 px crops.
        boxes, reg, score, marks = self._refine(img, boxes, 48, self.onet, 4, 2)
        size = boxes[:, 2:4] - boxes[:, 0:2] + 1
        points = np.stack([size[:, :1] * marks[:, :5] + boxes[:, :1] - 1,
                           size[:, 1:] * marks[:, 5:] + boxes[:, 1:2] - 1], axis=2)
        boxes = _regress(boxes, reg)
        keep = nms(boxes, score, 0.7)
        return boxes[keep], points[keep], score[keep]

    def _refine(self, img, boxes, crop, net, convs, stage):
        h, w = img.shape[2:]
        x0 = np.clip(boxes[:, 0].astype(int), 1, None)
        y0 = np.clip(boxes[:, 1].astype(int), 1, None)
        x1 = np.clip(boxes[:, 2].astype(int), None, w)
        y1 = np.clip(boxes[:, 3].astype(int), None, h)
        ok = (x1 > x0 - 1) & (y1 > y0 - 1)
        if not ok.any():
            return np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0), np.zeros((0, 10))
        boxes, x0, y0, x1, y1 = boxes[ok], x0[ok], y0[ok], x1[ok], y1[ok]
        crops = torch.cat([interpolate(img[:, :, b - 1:d, a - 1:c], size=(crop, crop), mode="area")
                           for a, b, c, d in zip(x0, y0, x1, y1)])
        x = _run_convs(net, (crops - 127.5) * 0.0078125, convs)
        x = x.permute(0, 3, 2, 1).reshape(len(crops), -1)
        last = convs + 1
        x = getattr(net, f"prelu{last}")(getattr(net, f"dense{last}")(x))
        score = torch.softmax(getattr(net, f"dense{last + 1}_1")(x), dim=1)[:, 1].numpy()
        reg = getattr(net, f"dense{last + 1}_2")(x).numpy()
        marks = getattr(net, f"dense{last + 1}_3")(x).numpy() if stage == 2 else np.zeros((len(x), 10))
        keep = score > self.thresholds[stage]
        return boxes[keep], reg[keep], score[keep], marks[keep]


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    size = boxes[:, 2:4] - boxes[:, 0:2] + 1
    return boxes[:, :4] + reg * np.hstack([size, size])


def _square(boxes: np.ndarray) -> np.ndarray:
    size = boxes[:, 2:4] - boxes[:, 0:2]
    side = size.max(axis=1, keepdims=True)
    corner = boxes[:, 0:2] + size / 2 - side / 2
    return np.hstack([corner, corner + side])


class Ensemble:
    """Several detectors on the same photo, their faces merged by NMS (scores are taken
    as they come, though each detector has its own scale)."""

    def __init__(self, *detectors, nms_threshold: float = 0.4) -> None:
        self.detectors, self.nms_threshold = detectors, nms_threshold

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        faces = [face for detector in self.detectors for face in detector.detect(image)]
        if not faces:
            return []
        keep = nms(np.array([f.box for f in faces]), np.array([f.score for f in faces]), self.nms_threshold)
        return sorted((faces[i] for i in keep), key=lambda f: f.box[0])
