"""The one exception of the media package."""


class MediaError(Exception):
    """A video that cannot be ingested, with a message the uploader can act on.

    ``message`` is written for the person who uploaded the file: it says what is wrong with it
    and, where there is one, what to do about it. It never contains a stack trace or a path.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
