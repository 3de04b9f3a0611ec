"""channel_state: what a channel keeps for every instance (WeCom's access token, card response
codes, the customer-service sync cursor); the channel enum gains wecom_kf (a VARCHAR: no change);
invites.person_id (/link: another chat app for an existing person)

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
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invites_person_id_people'), 'people', ['person_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invites_person_id_people'), type_='foreignkey')
        batch_op.drop_column('person_id')
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_state_expires_at'))
    op.drop_table('channel_state')
