"""SA-V files: every computed field recomputed from the example masks equals the released value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotation.formats import FormatError, sav
from engine import rle as rle_ops

SAV_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sav_example"


@pytest.fixture(scope="module", params=["manual", "auto"])
def example(request) -> tuple[str, bytes, dict]:
    raw = (SAV_DIR / f"sav_000001_{request.param}.json").read_bytes()
    return request.param, raw, json.loads(raw)


def test_the_twenty_keys_in_order(example) -> None:
    _, _, doc = example
    assert list(doc) == list(sav.KEYS) and len(sav.KEYS) == 20


def test_statistics_recomputed_from_the_masks(example) -> None:
    kind, _, doc = example
    n = doc["masklet_num"]
    resolution = doc["video_height"] * doc["video_width"]
    assert resolution == doc["video_resolution"]
    for o in range(n):
        areas = [rle_ops.area(frame[o]) for frame in doc["masklet"]]
        stats = sav.masklet_stats(areas, resolution)
        assert (round(stats["size_abs"], 10) if kind == "manual" else stats["size_abs"]) == doc["masklet_size_abs"][o]
        assert (round(stats["size_rel"], 10) if kind == "manual" else stats["size_rel"]) == doc["masklet_size_rel"][o]
        assert stats["size_bucket"] == doc["masklet_size_bucket"][o]
        assert stats["visibility_changes"] == doc["masklet_visibility_changes"][o]
        assert stats["first_appeared_frame"] == doc["masklet_first_appeared_frame"][o]
        assert stats["frame_count"] == doc["masklet_frame_count"][o] == 121


def test_known_values_of_the_example() -> None:
    manual = json.loads((SAV_DIR / "sav_000001_manual.json").read_bytes())
    areas = [rle_ops.area(frame[3]) for frame in manual["masklet"]]
    stats = sav.masklet_stats(areas, manual["video_resolution"])
    # Object 3 appears on annotated frame 113 and stays: no change after its first appearance.
    assert (stats["first_appeared_frame"], stats["visibility_changes"]) == (113, 0)
    assert manual["masklet_first_appeared_frame"][3] == 113.0


def test_buckets_and_edge_cases() -> None:
    assert [sav.size_bucket(a) for a in (0, 1023.9, 1024, 9215.9, 9216)] == \
        ["small", "small", "medium", "medium", "large"]
    stats = sav.masklet_stats([0, 0, 5, 0, 5, 5], 100.0)
    assert stats == {"size_abs": 5.0, "size_rel": 0.05, "size_bucket": "small", "visibility_changes": 2,
                     "first_appeared_frame": 2, "frame_count": 6}
    never = sav.masklet_stats([0, 0], 100.0)
    assert (never["size_abs"], never["first_appeared_frame"], never["visibility_changes"]) == (0.0, None, 0)


def test_parse_then_build_gives_the_file_byte_for_byte(example) -> None:
    kind, raw, doc = example
    parsed = sav.sav_parse(raw)
    assert parsed.annotated_frame_count == 121 and len(parsed.masklets) == doc["masklet_num"]
    assert (parsed.video.height, parsed.video.width, parsed.video.frame_count) == (848, 480, 483)
    rebuilt = sav.sav_build(video=parsed.video, masklet_type=kind, masklets=parsed.masklets,
                            annotated_frame_count=parsed.annotated_frame_count)
    assert rebuilt == doc
    assert sav.sav_dumps(rebuilt) == raw


def test_manual_and_auto_conventions(example) -> None:
    kind, _, doc = example
    if kind == "manual":
        assert doc["masklet_stability_score"] == [None] * 5
        assert all(isinstance(v, float) for v in doc["masklet_first_appeared_frame"])
    else:
        assert len(doc["masklet_stability_score"]) == 121
        assert all(len(row) == 9 for row in doc["masklet_stability_score"])
        assert doc["masklet_edited_frame_count"] == [0] * 9
        assert all(isinstance(v, int) for v in doc["masklet_first_appeared_frame"])


def test_empty_masklet_list() -> None:
    video = sav.SavVideo(video_id="v", height=4, width=6, duration=1.0, frame_count=24)
    doc = sav.sav_build(video=video, masklet_type="auto", masklets=[], annotated_frame_count=2)
    assert doc["masklet"] == [[], []] and doc["masklet_num"] == 0
    assert sav.sav_parse(sav.sav_dumps(doc)).masklets == []


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("masklet_id"), "missing keys: masklet_id"),
    (lambda d: d.update(video_height="tall"), "video_height must be a number"),
    (lambda d: d.update(masklet_num=4), "masklet[0] must be a list of masklet_num (4) RLE masks"),
    (lambda d: d["masklet"][2].__setitem__(0, rle_ops.empty(100, 100)),
     "masklet[2][0] is 100×100, but the video is 480×848"),
    (lambda d: d["masklet"][2][0].update(counts="!!"), "masklet[2][0] is not a valid COCO RLE"),
    (lambda d: d.update(masklet_type=["manual"] * 4 + ["robot"]), "masklet_type[4] must be 'manual' or 'auto'"),
    (lambda d: d.update(masklet_stability_score=[1]), "masklet_stability_score must be"),
    (lambda d: d.update(masklet=[]), "masklet must be a non-empty list"),
])
def test_parse_refuses_malformed_files(mutate, message) -> None:
    doc = json.loads((SAV_DIR / "sav_000001_manual.json").read_bytes())
    mutate(doc)
    with pytest.raises(FormatError) as raised:
        sav.sav_parse(json.dumps(doc).encode())
    assert message in str(raised.value)


def test_parse_refuses_what_is_not_json() -> None:
    with pytest.raises(FormatError, match="not valid JSON"):
        sav.sav_parse(b"\x89PNG")
    with pytest.raises(FormatError, match="top level must be a JSON object"):
        sav.sav_parse(b"[1, 2]")
