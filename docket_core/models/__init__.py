"""Models in workflows: ONNX files fetched and verified once per worker, one onnxruntime session per
process and model, and the built-in model steps (`onnx-detect`, `onnx-classify`, `ocr-text`)."""
