"""Opening image files with Pillow, and Pillow's warnings about a file as messages.

Camera files are often malformed: Pillow's own warnings about a file (corrupt EXIF, a huge image)
become warning messages, and only a file that is not an image at all raises `InputError`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from docket_core.errors import InputError
from docket_core.workflows.model import FileContext, Message

__all__ = ["UNDECODABLE", "open_image", "pillow_warnings"]

UNDECODABLE = (OSError, SyntaxError, EOFError, ValueError)
"""What Pillow raises when the header was fine but the pixel data is not (truncated, corrupt)."""

_WARNINGS_LOCK = threading.RLock()


@contextmanager
def open_image(ctx: FileContext, messages: list[Message]) -> Iterator[Image.Image]:
    """The file opened lazily with Pillow (header only), closed on exit; Pillow's warnings go to `messages`.

    Raises:
        InputError: When the file is not an image Pillow can read, or is a decompression bomb.
    """
    try:
        with pillow_warnings(messages):
            image = Image.open(ctx.path)
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise InputError(f"expected an image file Pillow can read, got {ctx.name!r}: {e}") from e
    with image:
        yield image


@contextmanager
def pillow_warnings(messages: list[Message]) -> Iterator[None]:
    """Turn Pillow's warnings about the file (corrupt EXIF, a huge image) into warning messages.

    Other warnings are passed on unchanged. `warnings.catch_warnings` swaps process-wide state, so the
    (short: headers and EXIF only) windows are serialized across threads.
    """
    findings = (UserWarning, Image.DecompressionBombWarning)
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        for category in findings:
            warnings.filterwarnings("always", category=category, module=r"PIL\.")
        yield
    for w in caught:
        if issubclass(w.category, findings) and "PIL" in Path(w.filename).parts:
            messages.append(Message("warning", f"Pillow: {w.message}"))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
