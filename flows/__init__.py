"""Prefect flows, one per module; each reads as the story of its stages. Entry points of prefect.yaml."""
