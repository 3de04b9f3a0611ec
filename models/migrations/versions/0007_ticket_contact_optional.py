"""tickets.contact_name may be NULL: no contact person given (then nobody is greeted by the
company's name); a contact that merely repeated the customer's name — the old default when none
was given — becomes NULL, on tickets and on customers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('contact_name', existing_type=sa.String(length=120), nullable=True)
    op.execute("UPDATE tickets SET contact_name = NULL WHERE contact_name = "
               "(SELECT c.name FROM customers c WHERE c.id = tickets.customer_id)")
    op.execute("UPDATE customers SET contact_name = NULL WHERE contact_name = name")


def downgrade() -> None:
    op.execute("UPDATE tickets SET contact_name = (SELECT c.name FROM customers c WHERE c.id = tickets.customer_id) "
               "WHERE contact_name IS NULL")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('contact_name', existing_type=sa.String(length=120), nullable=False)
