"""A PDF's embedded files, listed without decoding any and decoded one at a time within a cap.

pypdf decodes an attachment whole when asked for it (`reader.attachments[name]`), up to 75 MB per
stream: a PDF of a few hundred KB carrying eight 64 MiB attachments cost over 600 MiB when all were
read before one was chosen. Here `list_attachments` only reads names and where each file's stream
is; `Attachment.head` decodes just the start of one (enough to see an XML root element) and
`Attachment.read` decodes one whole, stopping with an `InputError` the moment it passes its cap.

FlateDecode (the filter every writer uses for embedded files) and unfiltered streams are decoded
here, incrementally and bounded (`docket_core.httpbody.BoundedDecoder`); any other filter is left
to pypdf, within its own output limits, and the result is then held to the cap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject, StreamObject

from docket_core.deadline import check_deadline
from docket_core.errors import InputError
from docket_core.httpbody import BodyError, BodyTooLarge, BoundedDecoder

__all__ = ["Attachment", "list_attachments"]

_PIECE = 64 * 1024


@dataclass(frozen=True)
class Attachment:
    """One embedded file: its name and its (still encoded) stream."""

    name: str
    stream: StreamObject

    def _flate_or_plain(self) -> str | None:
        """'flate' or 'plain' when the stream is decoded here, None when pypdf must decode it."""
        filters = self.stream.get("/Filter")
        if filters is None:
            return "plain"
        names = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)]
        params = self.stream.get("/DecodeParms")
        if names == ["/FlateDecode"] and not params:
            return "flate"
        return None

    def _pieces(self, limit: int) -> Iterator[bytes]:
        kind = self._flate_or_plain()
        what = f"attachment {self.name!r}"
        if kind is None:
            data = self.stream.get_data()
            if len(data) > limit:
                raise BodyTooLarge(f"expected at most {limit} bytes from {what}, got {len(data)}")
            yield data
            return
        raw: bytes = self.stream._data  # noqa: SLF001 - pypdf has no public accessor for the encoded bytes
        decoder = BoundedDecoder("deflate" if kind == "flate" else None, limit, what)
        for start in range(0, len(raw), _PIECE):
            check_deadline()
            yield from decoder.feed(raw[start : start + _PIECE])
        yield from decoder.end()

    def read(self, limit: int) -> bytes:
        """The whole decoded file; refused with `InputError` past `limit` bytes (or when it does not decode)."""
        try:
            return b"".join(self._pieces(limit))
        except BodyTooLarge as exc:
            raise InputError(f"expected an embedded file of at most {limit} bytes, {self.name!r} is larger") from exc
        except (BodyError, PyPdfError) as exc:
            raise InputError(f"expected a readable embedded file, {self.name!r} does not decode: {exc}") from exc

    def head(self, size: int) -> bytes:
        """At most the first `size` decoded bytes (fewer when the file is shorter or does not decode)."""
        out: list[bytes] = []
        kept = 0
        pieces = self._pieces(size + _PIECE)
        try:
            for piece in pieces:
                out.append(piece)
                kept += len(piece)
                if kept >= size:
                    break
        except (BodyError, PyPdfError):
            pass  # what decoded before the error is the head
        finally:
            pieces.close()
        return b"".join(out)[:size]


def _spec_stream(spec: DictionaryObject) -> StreamObject | None:
    embedded = spec.get("/EF")
    embedded = embedded.get_object() if embedded is not None else None
    if not isinstance(embedded, DictionaryObject):
        return None
    ref = embedded.get("/UF") or embedded.get("/F")
    stream = ref.get_object() if ref is not None else None
    return stream if isinstance(stream, StreamObject) else None


def list_attachments(reader: PdfReader) -> list[Attachment]:
    """The files of the embedded-files name tree, then those of the catalog's /AF array; none decoded.

    Raises:
        PyPdfError, AttributeError, KeyError, TypeError: a malformed tree (the caller words the error).
    """
    found: list[Attachment] = []
    for entry in reader.attachment_list:
        stream = _spec_stream(entry.pdf_object)
        if stream is not None:
            found.append(Attachment(entry.name, stream))
    # PDF/A-3 lists associated files in /AF; some writers put them nowhere else.
    for spec_ref in reader.trailer["/Root"].get("/AF") or []:
        spec = spec_ref.get_object()
        name = str(spec.get("/UF") or spec.get("/F") or "")
        stream = _spec_stream(spec)
        if name and stream is not None:
            found.append(Attachment(name, stream))
    return found
