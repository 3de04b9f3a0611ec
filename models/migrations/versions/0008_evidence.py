"""Evidence a supervisor can trust (issue 15): where a check-in's location came from (live or a
pin), its distance to the site and the geofence flag, whether the site took its coordinates from
it; an attachment's stamped copy and the EXIF of a photo sent as a file

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_source', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('distance_m', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('off_site', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('site_located', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('as_file', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('exif_lat', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('exif_lon', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('exif_taken_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stamped_path', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('stamped_sha256', sa.String(length=64), nullable=True))
    # Check-ins stored before: a location was a one-off pin (live locations were not told apart).
    op.execute("UPDATE checkins SET location_source = 'pin' WHERE lat IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        for column in ('stamped_sha256', 'stamped_path', 'exif_taken_at', 'exif_lon', 'exif_lat', 'as_file'):
            batch_op.drop_column(column)
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        for column in ('site_located', 'off_site', 'distance_m', 'location_source'):
            batch_op.drop_column(column)
