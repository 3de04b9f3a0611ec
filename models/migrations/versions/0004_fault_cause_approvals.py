"""tickets.fault_cause (the cause confirmed at resolve; statistics count by it);
month_approvals (a manager's approval of a monthly sheet, with the sheet as approved)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('month_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sheet', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['people.id'], name=op.f('fk_month_approvals_approved_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_month_approvals')),
    sa.UniqueConstraint('kind', 'month', name=op.f('uq_month_approvals_kind'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fault_cause', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_fault_cause'), ['fault_cause'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_fault_cause'))
        batch_op.drop_column('fault_cause')
    op.drop_table('month_approvals')
