"""channel_state: what a channel keeps for every instance (WeCom's access token, card response
codes, the customer-service sync cursor); the channel enum gains wecom_kf (a VARCHAR: no change)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_state',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_channel_state'))
    )
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_state_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_state_expires_at'))
    op.drop_table('channel_state')
