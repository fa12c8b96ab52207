"""Video probing, validation, timestamp sampling and JPEG extraction for ingest.

Pure Python over PyAV, Pillow and NumPy: no Django here, so the engine, the bench and the
command line can use it alone. Every rejection is a :class:`MediaError` whose message is meant
for the person who uploaded the file.
"""

from .decode import DecodeSummary, SampledFrame, SampledFrames, check_first_frame
from .encode import JPEG_QUALITY, THUMBNAIL_WIDTH, encode_jpeg, encode_thumbnail
from .errors import MediaError
from .extract import ExtractResult, extract_frames
from .limits import MediaLimits, validate
from .probe import VIDEO_FORMATS, VideoProbe, open_container, probe
from .sampling import Pick, TimestampSampler, sample_timestamps

__all__ = [
    "JPEG_QUALITY",
    "THUMBNAIL_WIDTH",
    "VIDEO_FORMATS",
    "DecodeSummary",
    "ExtractResult",
    "MediaError",
    "MediaLimits",
    "Pick",
    "SampledFrame",
    "SampledFrames",
    "TimestampSampler",
    "VideoProbe",
    "check_first_frame",
    "encode_jpeg",
    "encode_thumbnail",
    "extract_frames",
    "open_container",
    "probe",
    "sample_timestamps",
    "validate",
]
