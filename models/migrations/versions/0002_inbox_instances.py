"""the inbox (raw updates stored before they are acknowledged), instances with heartbeats,
outbox leases per instance, held-push conditions and supersede keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum('pending', 'done', 'parked', name='inbox_status', native_enum=False, length=24), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('instance_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('session_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('handled_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_inbound_events_pending', ['instance_id', 'id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_inbound_events_pending_session', ['session_key', 'id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('instances',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('host', sa.String(length=120), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instances'))
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instances_heartbeat_at'), ['heartbeat_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leased_by', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('valid_if', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('supersede_key', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_supersede_key'), ['supersede_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_supersede_key'))
        batch_op.drop_column('supersede_key')
        batch_op.drop_column('valid_if')
        batch_op.drop_column('leased_by')

    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instances_heartbeat_at'))
    op.drop_table('instances')

    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_pending_session', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_inbound_events_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_column('session_key')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('instance_id')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')
        batch_op.drop_column('payload')
        batch_op.drop_column('status')
