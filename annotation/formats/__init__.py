"""Exchange formats of masklets, as pure functions (no Django): SA-V JSON, COCO, DAVIS PNGs.

Every reader raises :class:`FormatError` (a ``ValueError``) with a sentence a person can act on;
the services turn it into a 400 or a failed Job.
"""


class FormatError(ValueError):
    """The input is not a valid file of the format: the message says where and why."""
