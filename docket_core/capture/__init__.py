"""Capture: documents as pages of words with boxes and confidence, and fields found on them.

`pages` turns a PDF (text layer, or OCR for scanned pages) or an image into `Page`s; `ocr` holds the
one OCR engine of the process; `fields` finds invoice and receipt fields on pages without templates,
from the label lexicon in `lexicon.yaml`, pairing labels with values by geometry.
"""
