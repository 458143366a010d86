"""Which media types Docket knows, which a batch kind accepts, their size caps, and the rejection."""

from __future__ import annotations

from typing import Literal

from docket_core.errors import DocketError, FileErrorType
from docket_core.redact import strip_local_paths
from docket_core.settings import DocketSettings

__all__ = ["ACCEPTED", "IMAGE_TYPES", "VIDEO_TYPES", "BatchKind", "FileRejected", "invalid", "max_bytes_for"]

BatchKind = Literal["images", "documents", "videos"]

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo"})

ACCEPTED: dict[BatchKind, frozenset[str]] = {
    "images": IMAGE_TYPES,
    # Scanned documents arrive as images.
    "documents": frozenset({"application/pdf", "application/xml"}) | IMAGE_TYPES,
    "videos": VIDEO_TYPES,
}

class FileRejected(DocketError, ValueError):
    """Raised when a file is too big, of a type the batch does not accept, or does not decode.

    Attributes:
        error_type: the typed reason, shown in listings and notifications.
        reason: one sentence for a person: what was expected, what was found.
    """

    def __init__(self, error_type: FileErrorType, reason: str) -> None:
        reason = strip_local_paths(reason)  # library messages (FFmpeg, pypdf, OS) quote local paths
        super().__init__(f"{error_type.value}: {reason}")
        self.error_type = error_type
        self.reason = reason

    def __reduce__(self) -> tuple[type[FileRejected], tuple[FileErrorType, str]]:
        # Keep the two-argument constructor working across pickling (process pools, Prefect results).
        return (type(self), (self.error_type, self.reason))


def invalid(reason: str) -> FileRejected:
    """A rejection for content that does not decode (`INVALID_FILE_CONTENT`)."""
    return FileRejected(FileErrorType.INVALID_FILE_CONTENT, reason)


def max_bytes_for(media_type: str, settings: DocketSettings) -> int:
    """The size cap for a media type: images and videos have their own, everything else is a document."""
    if media_type.startswith("image/"):
        return settings.max_image_bytes
    if media_type.startswith("video/"):
        return settings.max_video_bytes
    return settings.max_document_bytes
