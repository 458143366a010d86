"""merge the branches of session 3 (auth, review locks, Rossum ids, score thresholds, Roboflow tables)

Revision ID: 0009_merge
Revises: 0007_review_locks, 0007_rossum, 0007_score_thresholds, 0008_roboflow
Create Date: 2026-12-04 20:20:00.000000
"""


revision = "0009_merge"
down_revision = ("0007_review_locks", "0007_rossum", "0007_score_thresholds", "0008_roboflow")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # a merge point: every branch's tables are made by its own revision


def downgrade() -> None:
    pass
