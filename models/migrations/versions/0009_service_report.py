"""service_reports: the signed service report (技术支持现场服务单) as issued — per ticket and
language, the PDF in the media store, its sha256 and the digest of its canonical content

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

import models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('lang', sa.String(length=16), nullable=False),
        sa.Column('layout', sa.String(length=40), nullable=False),
        sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('content_sha256', sa.String(length=64), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
        sa.Column('path', sa.String(length=255), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('rendered_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_service_reports_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_reports')),
        sa.UniqueConstraint('ticket_id', 'lang', name='uq_service_reports_ticket_lang'),
    )
    with op.batch_alter_table('service_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_reports_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_reports_ticket_id'))
    op.drop_table('service_reports')
