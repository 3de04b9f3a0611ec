"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_states',
    sa.Column('session_key', sa.String(length=128), nullable=False),
    sa.Column('flow', sa.String(length=40), nullable=True),
    sa.Column('step', sa.String(length=40), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('session_key', name=op.f('pk_conversation_states'))
    )
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=120), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_phone'), ['phone'], unique=False)

    op.create_table('inbound_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('telegram', 'wecom', 'cli', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_events')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_inbound_events_channel'))
    )
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_events_received_at'), ['received_at'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('ticket_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_ticket_counters'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('engineer', 'dispatcher', 'supervisor', 'manager', 'customer', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_lat', sa.Double(), nullable=True),
    sa.Column('last_lon', sa.Double(), nullable=True),
    sa.Column('last_located_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_people_customer_id_customers')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_people_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_team_id'), ['team_id'], unique=False)

    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=400), nullable=False),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sites_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites'))
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sites_customer_id'), ['customer_id'], unique=False)

    op.create_table('assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('serial', sa.String(length=120), nullable=True),
    sa.Column('purchase_date', sa.Date(), nullable=True),
    sa.Column('warranty_end', sa.Date(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_assets_customer_id_customers')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_assets_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_assets_model_serial', ['model', 'serial'], unique=False)

    op.create_table('channel_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('telegram', 'wecom', 'cli', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('external_user_id', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('unreachable_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_channel_identities_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_identities')),
    sa.UniqueConstraint('channel', 'external_user_id', name=op.f('uq_channel_identities_channel'))
    )
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_identities_person_id'), ['person_id'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Enum('new', 'dispatched', 'accepted', 'en_route', 'on_site', 'paused', 'resolved', 'signed_off', 'closed', 'cancelled', name='ticket_status', native_enum=False, length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('contact_name', sa.String(length=120), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=400), nullable=False),
    sa.Column('product_model', sa.String(length=120), nullable=False),
    sa.Column('serial', sa.String(length=120), nullable=True),
    sa.Column('purchase_date', sa.Date(), nullable=True),
    sa.Column('in_warranty', sa.Boolean(), nullable=True),
    sa.Column('fault_symptom', sa.Text(), nullable=False),
    sa.Column('fault_type', sa.String(length=120), nullable=True),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('service_type', sa.Enum('phone', 'remote', 'onsite', name='service_type', native_enum=False, length=24), nullable=False),
    sa.Column('billable', sa.Boolean(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('respond_due_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('respond_met_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('respond_diff_min', sa.Integer(), nullable=True),
    sa.Column('arrive_due_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrive_met_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrive_diff_min', sa.Integer(), nullable=True),
    sa.Column('resolve_due_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolve_met_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolve_diff_min', sa.Integer(), nullable=True),
    sa.Column('sla_start_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('respond_level', sa.Integer(), nullable=False),
    sa.Column('arrive_level', sa.Integer(), nullable=False),
    sa.Column('resolve_level', sa.Integer(), nullable=False),
    sa.Column('sla_next_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispatch_chase_level', sa.Integer(), nullable=False),
    sa.Column('dispatch_next_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('callback_state', sa.String(length=12), nullable=True),
    sa.Column('callback_next_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('callback_sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('departed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('eta_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.String(length=24), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.Column('resolved_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_off_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('actions_taken', sa.Text(), nullable=True),
    sa.Column('parts_replaced', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.CheckConstraint('severity BETWEEN 1 AND 4', name=op.f('ck_tickets_severity_range')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_tickets_asset_id_assets')),
    sa.ForeignKeyConstraint(['assignee_id'], ['people.id'], name=op.f('fk_tickets_assignee_id_people')),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_tickets_created_by_id_people')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_tickets_site_id_sites')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_tickets_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('number', name=op.f('uq_tickets_number'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_arrive_due', ['arrive_due_at'], unique=False, sqlite_where=sa.text('arrive_met_at IS NULL'), postgresql_where=sa.text('arrive_met_at IS NULL'))
        batch_op.create_index('ix_tickets_callback_expired', ['team_id', 'signed_off_at'], unique=False, sqlite_where=sa.text("callback_state = 'expired'"), postgresql_where=sa.text("callback_state = 'expired'"))
        batch_op.create_index('ix_tickets_callback_next', ['callback_next_at'], unique=False, sqlite_where=sa.text('callback_next_at IS NOT NULL'), postgresql_where=sa.text('callback_next_at IS NOT NULL'))
        batch_op.create_index('ix_tickets_created', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_tickets_dispatch_next', ['dispatch_next_at'], unique=False, sqlite_where=sa.text('dispatch_next_at IS NOT NULL'), postgresql_where=sa.text('dispatch_next_at IS NOT NULL'))
        batch_op.create_index('ix_tickets_dispatch_wait', ['status', 'dispatched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_fault_type'), ['fault_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_product_model'), ['product_model'], unique=False)
        batch_op.create_index('ix_tickets_resolve_due', ['resolve_due_at'], unique=False, sqlite_where=sa.text('resolve_met_at IS NULL'), postgresql_where=sa.text('resolve_met_at IS NULL'))
        batch_op.create_index('ix_tickets_respond_due', ['respond_due_at'], unique=False, sqlite_where=sa.text('respond_met_at IS NULL'), postgresql_where=sa.text('respond_met_at IS NULL'))
        batch_op.create_index('ix_tickets_sla_next', ['sla_next_at'], unique=False, sqlite_where=sa.text('sla_next_at IS NOT NULL'), postgresql_where=sa.text('sla_next_at IS NOT NULL'))
        batch_op.create_index('ix_tickets_status_assignee', ['status', 'assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_team_id'), ['team_id'], unique=False)

    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('engineer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('arrival', 'progress', name='checkin_kind', native_enum=False, length=24), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('client_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('server_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['engineer_id'], ['people.id'], name=op.f('fk_checkins_engineer_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_checkins_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_engineer_time', ['engineer_id', 'server_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkins_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('engineer_id', sa.Integer(), nullable=True),
    sa.Column('customer_person_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['people.id'], name=op.f('fk_complaints_answered_by_id_people')),
    sa.ForeignKeyConstraint(['customer_person_id'], ['people.id'], name=op.f('fk_complaints_customer_person_id_people')),
    sa.ForeignKeyConstraint(['engineer_id'], ['people.id'], name=op.f('fk_complaints_engineer_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_complaints_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_engineer_id'), ['engineer_id'], unique=False)
        batch_op.create_index('ix_complaints_open', ['created_at'], unique=False, sqlite_where=sa.text('answered_at IS NULL'), postgresql_where=sa.text('answered_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_complaints_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('signoff', 'callback', name='feedback_source', native_enum=False, length=24), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_feedback_rating_range')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_feedback_person_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_feedback_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('engineer', 'dispatcher', 'supervisor', 'manager', 'customer', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_invites_created_by_id_people')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_invites_customer_id_customers')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_invites_team_id_teams')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_invites_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['used_by_id'], ['people.id'], name=op.f('fk_invites_used_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invites_token_hash'))
    )
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.create_index('ix_invites_open', ['expires_at'], unique=False, sqlite_where=sa.text('used_at IS NULL'), postgresql_where=sa.text('used_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_invites_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('telegram', 'wecom', 'cli', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('not_before', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='outbox_status', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_message_id', sa.String(length=64), nullable=True),
    sa.Column('purpose', sa.String(length=40), nullable=True),
    sa.Column('ref', sa.String(length=60), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_outbox_person_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_outbox_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['not_before', 'id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index(batch_op.f('ix_outbox_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('parts_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='parts_status', native_enum=False, length=24), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_parts_requests_quantity_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['people.id'], name=op.f('fk_parts_requests_decided_by_id_people')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['people.id'], name=op.f('fk_parts_requests_requested_by_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_parts_requests_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parts_requests'))
    )
    with op.batch_alter_table('parts_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parts_requests_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('signoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('chat', 'paper', name='signoff_method', native_enum=False, length=24), nullable=False),
    sa.Column('signer_name', sa.String(length=120), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('collected_by_id', sa.Integer(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collected_by_id'], ['people.id'], name=op.f('fk_signoffs_collected_by_id_people')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['people.id'], name=op.f('fk_signoffs_confirmed_by_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_signoffs_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signoffs'))
    )
    with op.batch_alter_table('signoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signoffs_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('action', sa.Enum('dispatch', 'accept', 'decline', 'depart', 'arrive', 'pause', 'resume', 'resolve', 'sign_off', 'close', 'cancel', 'reopen', 'reassign', name='action', native_enum=False, length=24), nullable=True),
    sa.Column('from_status', sa.Enum('new', 'dispatched', 'accepted', 'en_route', 'on_site', 'paused', 'resolved', 'signed_off', 'closed', 'cancelled', name='ticket_status', native_enum=False, length=24), nullable=True),
    sa.Column('to_status', sa.Enum('new', 'dispatched', 'accepted', 'en_route', 'on_site', 'paused', 'resolved', 'signed_off', 'closed', 'cancelled', name='ticket_status', native_enum=False, length=24), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_ticket_events_actor_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_ticket', ['ticket_id', 'id'], unique=False)

    op.create_table('acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('due_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acked_by_id', sa.Integer(), nullable=True),
    sa.Column('reminder_count', sa.Integer(), nullable=False),
    sa.Column('next_reminder_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['acked_by_id'], ['people.id'], name=op.f('fk_acknowledgements_acked_by_id_people')),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_acknowledgements_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['people.id'], name=op.f('fk_acknowledgements_supervisor_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgements')),
    sa.UniqueConstraint('checkin_id', name=op.f('uq_acknowledgements_checkin_id'))
    )
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.create_index('ix_ack_next_reminder', ['next_reminder_at'], unique=False, sqlite_where=sa.text('acked_at IS NULL'), postgresql_where=sa.text('acked_at IS NULL'))
        batch_op.create_index('ix_ack_supervisor_open', ['supervisor_id', 'due_at'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('signoff_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('telegram', 'wecom', 'cli', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('file_ref', sa.String(length=255), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('mime', sa.String(length=80), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_attachments_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_attachments_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['signoff_id'], ['signoffs.id'], name=op.f('fk_attachments_signoff_id_signoffs')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_attachments_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_checkin_id'), ['checkin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_ticket_id'), ['ticket_id'], unique=False)


    # teams ⇄ people reference each other: the teams → people keys are added once both exist.
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_teams_supervisor_id_people', 'people', ['supervisor_id'], ['id'])
        batch_op.create_foreign_key('fk_teams_manager_id_people', 'people', ['manager_id'], ['id'])

def downgrade() -> None:
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint('fk_teams_manager_id_people', type_='foreignkey')
        batch_op.drop_constraint('fk_teams_supervisor_id_people', type_='foreignkey')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_checkin_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.drop_index('ix_ack_supervisor_open')
        batch_op.drop_index('ix_ack_next_reminder', sqlite_where=sa.text('acked_at IS NULL'), postgresql_where=sa.text('acked_at IS NULL'))

    op.drop_table('acknowledgements')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_events_ticket')

    op.drop_table('ticket_events')
    with op.batch_alter_table('signoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signoffs_ticket_id'))

    op.drop_table('signoffs')
    with op.batch_alter_table('parts_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parts_requests_ticket_id'))

    op.drop_table('parts_requests')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_person_id'))
        batch_op.drop_index('ix_outbox_due', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.drop_table('outbox')
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invites_ticket_id'))
        batch_op.drop_index('ix_invites_open', sqlite_where=sa.text('used_at IS NULL'), postgresql_where=sa.text('used_at IS NULL'))

    op.drop_table('invites')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_ticket_id'))

    op.drop_table('feedback')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_ticket_id'))
        batch_op.drop_index('ix_complaints_open', sqlite_where=sa.text('answered_at IS NULL'), postgresql_where=sa.text('answered_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_complaints_engineer_id'))

    op.drop_table('complaints')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkins_ticket_id'))
        batch_op.drop_index('ix_checkins_engineer_time')

    op.drop_table('checkins')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_team_id'))
        batch_op.drop_index('ix_tickets_status_assignee')
        batch_op.drop_index('ix_tickets_sla_next', sqlite_where=sa.text('sla_next_at IS NOT NULL'), postgresql_where=sa.text('sla_next_at IS NOT NULL'))
        batch_op.drop_index('ix_tickets_respond_due', sqlite_where=sa.text('respond_met_at IS NULL'), postgresql_where=sa.text('respond_met_at IS NULL'))
        batch_op.drop_index('ix_tickets_resolve_due', sqlite_where=sa.text('resolve_met_at IS NULL'), postgresql_where=sa.text('resolve_met_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_tickets_product_model'))
        batch_op.drop_index(batch_op.f('ix_tickets_fault_type'))
        batch_op.drop_index('ix_tickets_dispatch_wait')
        batch_op.drop_index('ix_tickets_dispatch_next', sqlite_where=sa.text('dispatch_next_at IS NOT NULL'), postgresql_where=sa.text('dispatch_next_at IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_tickets_customer_id'))
        batch_op.drop_index('ix_tickets_created')
        batch_op.drop_index('ix_tickets_callback_next', sqlite_where=sa.text('callback_next_at IS NOT NULL'), postgresql_where=sa.text('callback_next_at IS NOT NULL'))
        batch_op.drop_index('ix_tickets_callback_expired', sqlite_where=sa.text("callback_state = 'expired'"), postgresql_where=sa.text("callback_state = 'expired'"))
        batch_op.drop_index('ix_tickets_arrive_due', sqlite_where=sa.text('arrive_met_at IS NULL'), postgresql_where=sa.text('arrive_met_at IS NULL'))

    op.drop_table('tickets')
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_identities_person_id'))

    op.drop_table('channel_identities')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_model_serial')
        batch_op.drop_index(batch_op.f('ix_assets_customer_id'))

    op.drop_table('assets')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sites_customer_id'))

    op.drop_table('sites')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_team_id'))
        batch_op.drop_index(batch_op.f('ix_people_customer_id'))

    op.drop_table('people')
    op.drop_table('ticket_counters')
    op.drop_table('teams')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_events_received_at'))

    op.drop_table('inbound_events')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_phone'))
        batch_op.drop_index(batch_op.f('ix_customers_name'))

    op.drop_table('customers')
    op.drop_table('conversation_states')
