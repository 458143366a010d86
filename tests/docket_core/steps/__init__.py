"""Tests of the built-in workflow steps."""
