"""tickets.reopens (how often a ticket was reopened: a reopened job is not a first-visit fix),
filled in from the event log for tickets reopened before

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reopens', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE tickets SET reopens = (SELECT count(*) FROM ticket_events e WHERE e.ticket_id = tickets.id"
               " AND e.kind = 'transition' AND e.action = 'reopen')")


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('reopens')
