"""DAVIS PNGs: indexed palette frames (object k → index k + 1, later objects win overlaps) and SA-V's
per-object binary PNGs; the readers turn PNG folders (or zips of them) back into per-object masks."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from annotation.formats import FormatError, davis
from engine import rle as rle_ops


def _masks(seed: int, n: int = 3, h: int = 16, w: int = 20) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random((h, w)) < 0.25 for _ in range(n)]


def test_indexed_png_is_a_davis_palette_image() -> None:
    masks = _masks(0)
    image = Image.open(io.BytesIO(davis.indexed_png(masks)))
    assert image.mode == "P" and image.size == (20, 16)
    palette = image.getpalette()
    assert palette[:12] == [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]  # DAVIS: black, red, green, olive
    labels = np.asarray(image)
    expected = np.zeros((16, 20), dtype=np.uint8)
    for k, mask in enumerate(masks):
        expected[mask] = k + 1  # later objects are painted over earlier ones
    np.testing.assert_array_equal(labels, expected)
    assert ((labels == 1) == (masks[0] & ~masks[1] & ~masks[2])).all()


def test_too_many_objects_for_one_png() -> None:
    with pytest.raises(ValueError, match="at most 255"):
        davis.label_map([np.zeros((2, 2), dtype=bool)] * 256)


def test_binary_png() -> None:
    mask = _masks(1, n=1)[0]
    image = Image.open(io.BytesIO(davis.binary_png(mask)))
    assert image.mode == "L"
    assert set(np.unique(np.asarray(image))) <= {0, 255}
    np.testing.assert_array_equal(np.asarray(image) > 0, mask)


def _zip(entries: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buf.seek(0)
    return buf


def test_read_indexed_folder_orders_frames_by_number() -> None:
    frames = [_masks(s, n=2) for s in range(3)]
    # Disjoint objects: reading back gives exactly the masks.
    for f in frames:
        f[1] &= ~f[0]
    files = {f"Annotations/bear/{i * 5:05d}.png": davis.indexed_png(frames[i]) for i in (2, 0, 1)}
    files["__MACOSX/._junk.png"] = b"not a png"
    [video] = davis.read_zip(_zip(files))
    assert video.name == "bear" and (video.height, video.width) == (16, 20)
    assert video.frame_names == ["00000.png", "00005.png", "00010.png"]
    assert list(video.objects) == [1, 2]
    for i in range(3):
        for k in range(2):
            np.testing.assert_array_equal(rle_ops.decode(video.objects[k + 1][i]), frames[i][k])


def test_read_per_object_layout_keeps_overlaps() -> None:
    masks = _masks(5, n=2)
    files = {f"Annotations_6fps/sav_x/{o:03d}/{f * 4:05d}.png": davis.binary_png(masks[o])
             for o in range(2) for f in range(3)}
    [video] = davis.read_zip(_zip(files))
    assert video.name == "sav_x" and video.frame_names == ["00000.png", "00004.png", "00008.png"]
    for o in range(2):
        np.testing.assert_array_equal(rle_ops.decode(video.objects[o + 1][2]), masks[o])


def test_read_greyscale_indexed_png_and_top_level_frames() -> None:
    labels = np.zeros((4, 5), dtype=np.uint8)
    labels[1:3, 1:3] = 3
    buf = io.BytesIO()
    Image.fromarray(labels, mode="L").save(buf, format="PNG")
    [video] = davis.read_zip(_zip({"00000.png": buf.getvalue()}))
    assert video.name == "video" and list(video.objects) == [3]
    assert rle_ops.area(video.objects[3][0]) == 4


@pytest.mark.parametrize(("files", "message"), [
    ({"a/readme.txt": b"hi"}, "holds no PNG files"),
    ({"a/00000.png": b"garbage"}, "a/00000.png is not a readable PNG"),
    ({"a/00000.png": davis.indexed_png(_masks(0)), "a/00001.png": davis.indexed_png(_masks(0, h=8))},
     "a/00001.png is 20×8, but the first frame is 20×16"),
    ({"a/00000.png": davis.indexed_png(_masks(0)), "a/b/c/00000.png": davis.indexed_png(_masks(0))},
     "mixes PNGs at different folder depths"),
])
def test_read_zip_refuses_bad_folders(files, message) -> None:
    with pytest.raises(FormatError) as raised:
        davis.read_zip(_zip(files))
    assert message in str(raised.value)


def test_read_zip_refuses_what_is_not_a_zip() -> None:
    with pytest.raises(FormatError, match="not a readable zip"):
        davis.read_zip(io.BytesIO(b"PK\x03\x04 nope"))
