"""What a file is and whether it is valid: sniffing by content, size caps, and a full decode.

`inspect_file` runs for every staged file, so it opens the file once, sniffs the type from the first
bytes, checks the size cap for that type before decoding anything, and then decodes from the same
open file. The name is only a tie-breaker between types the bytes cannot tell apart; it never wins
over the bytes.

The package is split by concept: `sniff` (the type from the first bytes), `types` (the known types,
what each batch kind accepts, size caps, `FileRejected`), `validate` (the full decode per type) and
`inspect` (`inspect_file`, which runs them in order).
"""

from docket_core.media.inspect import inspect_file
from docket_core.media.sniff import SNIFF_BYTES, sniff_media_type
from docket_core.media.types import ACCEPTED, IMAGE_TYPES, VIDEO_TYPES, BatchKind, FileRejected, max_bytes_for

__all__ = [
    "ACCEPTED",
    "IMAGE_TYPES",
    "SNIFF_BYTES",
    "VIDEO_TYPES",
    "BatchKind",
    "FileRejected",
    "inspect_file",
    "max_bytes_for",
    "sniff_media_type",
]
