"""invites.revoked_at (a customer's ticket link replaced by a newer one before anyone opened it)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

import models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
