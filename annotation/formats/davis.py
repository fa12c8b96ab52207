"""DAVIS-style PNG masks: write and read.

Two layouts:

- **Indexed PNGs** (DAVIS 2017): one palette PNG per frame, ``<video>/<frame 00000>.png``; pixel
  value 0 is background and the k-th object (0-based, in the order given) is index k + 1, drawn with
  DAVIS's palette. A pixel can hold one object only, so where objects overlap **the later object in
  the order wins** (it is painted over the earlier ones). At most 255 objects.
- **Per-object binary PNGs** (SA-V's val/test layout), since SA-V objects may overlap:
  ``Annotations_6fps/<video>/<obj 000>/<frame 00000>.png``, one greyscale PNG per object and frame,
  0 outside and 255 inside.

The readers take PNG files by name (from a folder or a zip), order the frames by file name and
return per-object RLE masks, so that a DAVIS folder becomes masklets.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
from PIL import Image

from annotation.formats import FormatError
from engine import rle as rle_ops

MAX_OBJECTS = 255
# Guards against zip bombs: a zip of PNG folders larger than this, unpacked, is refused.
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_ZIP_ENTRIES = 200_000


def davis_palette() -> list[int]:
    """DAVIS's (PASCAL VOC's) 256-colour palette, flat [r, g, b, r, g, b, …]."""
    palette: list[int] = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


_PALETTE = davis_palette()


def label_map(masks: Sequence[np.ndarray]) -> np.ndarray:
    """(H, W) uint8 labels of bool masks: 0 background, object k → k + 1; later objects win."""
    if not masks:
        raise ValueError("label_map needs at least one mask (the size is unknown otherwise)")
    if len(masks) > MAX_OBJECTS:
        raise ValueError(f"an indexed PNG holds at most {MAX_OBJECTS} objects, got {len(masks)}")
    labels = np.zeros(masks[0].shape, dtype=np.uint8)
    for k, mask in enumerate(masks):
        labels[mask] = k + 1
    return labels


def indexed_png(masks: Sequence[np.ndarray]) -> bytes:
    """One frame as a DAVIS palette PNG (see :func:`label_map` for indices and overlaps)."""
    image = Image.fromarray(label_map(masks), mode="P")
    image.putpalette(_PALETTE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def binary_png(mask: np.ndarray) -> bytes:
    """One object on one frame as a greyscale PNG: 0 outside, 255 inside."""
    image = Image.fromarray(mask.astype(np.uint8) * 255, mode="L")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def png_array(data: bytes, name: str = "PNG") -> np.ndarray:
    """The pixel values of a PNG as (H, W): palette indices for P images, grey levels otherwise."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.format != "PNG":
            raise FormatError(f"{name} is not a PNG (it is {image.format}).")
        if image.mode in ("P", "L", "1"):
            array = np.asarray(image)
        elif image.mode in ("I", "I;16"):
            array = np.asarray(image)
        else:
            array = np.asarray(image.convert("L"))
    except FormatError:
        raise
    except Exception as error:  # noqa: BLE001 - PIL raises many types on broken files
        raise FormatError(f"{name} is not a readable PNG ({error}).") from None
    return array.astype(np.int64) if array.dtype == bool else array


# ---- Reading a set of PNG files ------------------------------------------------------------------


@dataclass
class DavisVideo:
    """Per-object RLE masks read from PNGs: ``objects[label]`` has one RLE per frame, in frame order."""

    name: str
    height: int
    width: int
    frame_names: list[str]
    objects: dict[int, list[dict]] = field(default_factory=dict)


def _frame_sort_key(name: str) -> tuple:
    stem = PurePosixPath(name).stem
    digits = re.findall(r"\d+", stem)
    return (int(digits[-1]) if digits else -1, stem)


def read_indexed(name: str, frames: Iterable[tuple[str, bytes]]) -> DavisVideo:
    """Indexed PNGs of one video (file name, bytes) → per-object masks; label L is object L."""
    ordered = sorted(frames, key=lambda item: _frame_sort_key(item[0]))
    if not ordered:
        raise FormatError(f"Video folder {name!r} has no PNG frames.")
    labels_per_frame: list[np.ndarray] = []
    seen: set[int] = set()
    height = width = 0
    for frame_name, data in ordered:
        labels = png_array(data, frame_name)
        if labels.ndim != 2:
            raise FormatError(f"{frame_name} is not a single-channel (indexed or greyscale) PNG.")
        if not labels_per_frame:
            height, width = labels.shape
        elif labels.shape != (height, width):
            raise FormatError(f"{frame_name} is {labels.shape[1]}×{labels.shape[0]}, "
                              f"but the first frame is {width}×{height}.")
        seen.update(int(v) for v in np.unique(labels) if v != 0)
        labels_per_frame.append(labels)
    video = DavisVideo(name=name, height=height, width=width,
                       frame_names=[PurePosixPath(n).name for n, _ in ordered])
    for label in sorted(seen):
        video.objects[label] = rle_ops.encode_batch(np.stack([labels == label for labels in labels_per_frame]))
    return video


def read_per_object(name: str, objects: dict[str, list[tuple[str, bytes]]]) -> DavisVideo:
    """SA-V-style per-object folders ``{"000": [(frame name, bytes), …]}`` → per-object masks."""
    video: DavisVideo | None = None
    for folder in sorted(objects, key=_frame_sort_key):
        ordered = sorted(objects[folder], key=lambda item: _frame_sort_key(item[0]))
        names = [PurePosixPath(n).name for n, _ in ordered]
        masks = [png_array(data, frame_name) > 0 for frame_name, data in ordered]
        if any(m.ndim != 2 for m in masks):
            raise FormatError(f"Object folder {folder!r} of {name!r} holds PNGs that are not single-channel.")
        if video is None:
            height, width = masks[0].shape
            video = DavisVideo(name=name, height=height, width=width, frame_names=names)
        if names != video.frame_names:
            raise FormatError(f"Object folder {folder!r} of {name!r} does not have the same frames "
                              "as the first object's folder.")
        if any(m.shape != (video.height, video.width) for m in masks):
            raise FormatError(f"Object folder {folder!r} of {name!r} has frames of another size.")
        digits = re.findall(r"\d+", folder)
        label = int(digits[-1]) + 1 if digits else len(video.objects) + 1
        video.objects[label] = rle_ops.encode_batch(np.stack(masks))
    if video is None:
        raise FormatError(f"Video folder {name!r} has no object folders.")
    return video


def read_zip(fileobj) -> list[DavisVideo]:
    """Videos from a zip of DAVIS PNG folders.

    Accepted layouts (a leading ``Annotations/`` or ``Annotations_6fps/`` folder, or any folders
    above, are allowed): ``<video>/<frame>.png`` (indexed), ``<video>/<obj>/<frame>.png``
    (per-object, SA-V), or PNG frames at the top of the zip (indexed, one video named "video").
    """
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError) as error:
        raise FormatError(f"The upload is not a readable zip file ({error}).") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and _is_png_entry(i.filename)]
        if len(archive.infolist()) > MAX_ZIP_ENTRIES:
            raise FormatError(f"The zip holds more than {MAX_ZIP_ENTRIES} entries.")
        if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
            raise FormatError(f"The zip's PNGs unpack to more than {MAX_UNPACKED_BYTES // 1024**3} GiB.")
        if not infos:
            raise FormatError("The zip holds no PNG files: expected DAVIS folders <video>/<frame>.png.")
        depths = {len(PurePosixPath(i.filename).parts) for i in infos}
        if len(depths) != 1:
            raise FormatError("The zip mixes PNGs at different folder depths; use one layout "
                              "(<video>/<frame>.png or <video>/<object>/<frame>.png).")
        depth = depths.pop()
        groups: dict[str, list[zipfile.ZipInfo]] = {}
        for info in infos:
            parts = PurePosixPath(info.filename).parts
            groups.setdefault("/".join(parts[:-1]), []).append(info)

        def read(info: zipfile.ZipInfo) -> tuple[str, bytes]:
            try:
                return info.filename, archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as error:
                raise FormatError(f"{info.filename} cannot be read from the zip ({error}).") from None

        per_object = depth >= 3 and _looks_per_object(groups)
        videos: list[DavisVideo] = []
        if per_object:
            by_video: dict[str, dict[str, list[tuple[str, bytes]]]] = {}
            for folder, entries in groups.items():
                parent, _, obj = folder.rpartition("/")
                by_video.setdefault(parent, {})[obj] = [read(i) for i in entries]
            for parent in sorted(by_video):
                videos.append(read_per_object(PurePosixPath(parent).name, by_video[parent]))
        else:
            for folder in sorted(groups):
                name = PurePosixPath(folder).name if folder else "video"
                videos.append(read_indexed(name, [read(i) for i in groups[folder]]))
        return videos


def _is_png_entry(filename: str) -> bool:
    path = PurePosixPath(filename)
    return (path.suffix.lower() == ".png" and "__MACOSX" not in path.parts
            and not path.name.startswith("."))


def _looks_per_object(groups: dict[str, list]) -> bool:
    """Per-object layout: every innermost folder's name is a number (SA-V's 000, 001, …)."""
    return all(folder.rpartition("/")[2].isdigit() for folder in groups)
