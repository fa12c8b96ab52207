"""The label map written beside SA-V, DAVIS and SA-V PNG exports (``labels.json``), and read back
by imports: the label set, and each exported object's label, found by what the format itself
calls the object.

    {"format": "masklet-labels", "version": 1,
     "labels": [{"id": 1, "name": "person", "color": "#1f77b4"}, …],
     "videos": [{"folder": "<video folder>", "objects": [
         {"object_number": 3, "kind": "manual", "label": 1,
          "sav_masklet_id": 0,    # SA-V: the masklet's position in its <video>_<kind>.json
          "png_index": 1}, …]}]}  # DAVIS: the palette index; SA-V PNGs: the object folder's number + 1

``id``: the label's id in the export (1…N; COCO's ``category_id`` in a COCO export). An object's
``object_number`` is its number on the platform, shown in the workspace and review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from annotation.formats import FormatError

FORMAT = "masklet-labels"
MAX_LABELS = 10_000
MAX_NAME = 64


@dataclass
class MappedObject:
    kind: str
    label: str  # the label's name
    sav_masklet_id: int | None = None
    png_index: int | None = None


@dataclass
class LabelMap:
    labels: dict[str, str | None]  # name → colour
    videos: dict[str, list[MappedObject]] = field(default_factory=dict)  # folder → objects

    def objects_of(self, *names: str) -> list[MappedObject]:
        """The objects of the video named one of ``names`` (the only video when there is one)."""
        if len(self.videos) == 1:
            return next(iter(self.videos.values()))
        for name in names:
            if name in self.videos:
                return self.videos[name]
        return []


def is_label_map(data: bytes) -> bool:
    """Whether ``data`` is a label map (a JSON object with ``"format": "masklet-labels"``)."""
    if FORMAT.encode() not in data[:4096]:
        return False
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"Label map: {where} must be an integer, got {value!r}.")
    return value


def label_map_parse(data: bytes) -> LabelMap:
    """A label map from its JSON; FormatError naming what is wrong."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise FormatError(f"Label map: not valid JSON ({error}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise FormatError(f'Label map: expected a JSON object with "format": "{FORMAT}".')
    labels = doc.get("labels")
    if not isinstance(labels, list) or not labels or len(labels) > MAX_LABELS:
        raise FormatError(f'Label map: "labels" must list 1 to {MAX_LABELS} labels.')
    names: dict[int, str] = {}
    colors: dict[str, str | None] = {}
    for position, label in enumerate(labels):
        if not isinstance(label, dict) or not isinstance(label.get("name"), str) or not label["name"].strip():
            raise FormatError(f"Label map: label {position} needs a name.")
        name = " ".join(label["name"].split())
        if any(ord(c) < 32 for c in name):
            raise FormatError(f"Label map: the name of label {position} holds control characters.")
        if len(name) > MAX_NAME:
            raise FormatError(f"Label map: the name of label {position} is longer than {MAX_NAME} characters.")
        label_id = _int(label.get("id"), f"the id of label {position}")
        if label_id is None:
            raise FormatError(f"Label map: label {position} needs an id.")
        names[label_id] = name
        color = label.get("color")
        colors[name] = color if isinstance(color, str) else None
    videos: dict[str, list[MappedObject]] = {}
    for position, video in enumerate(doc.get("videos") or []):
        if not isinstance(video, dict) or not isinstance(video.get("objects"), list):
            raise FormatError(f'Label map: video {position} needs a list of "objects".')
        objects = []
        for index, obj in enumerate(video["objects"]):
            where = f"object {index} of video {position}"
            if not isinstance(obj, dict):
                raise FormatError(f"Label map: {where} is not an object.")
            label_id = _int(obj.get("label"), f"the label of {where}")
            if label_id not in names:
                raise FormatError(f"Label map: {where} has label {label_id!r}, which is not in \"labels\".")
            objects.append(MappedObject(kind=str(obj.get("kind") or "manual"), label=names[label_id],
                                        sav_masklet_id=_int(obj.get("sav_masklet_id"), f"sav_masklet_id of {where}"),
                                        png_index=_int(obj.get("png_index"), f"png_index of {where}")))
        videos[str(video.get("folder") or position)] = objects
    return LabelMap(labels=colors, videos=videos)


def label_map_build(*, labels: list[dict], videos: list[dict]) -> dict:
    """The label map document (``labels``: id, name, colour; ``videos``: folder and objects)."""
    return {"format": FORMAT, "version": 1, "labels": labels, "videos": videos}
