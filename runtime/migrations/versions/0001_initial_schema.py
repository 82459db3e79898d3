"""Initial schema: every table of DESIGN §5 and §7

Revision ID: 0001
Revises:
Create Date: 2026-11-22 15:32:09.712525
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import runtime.db

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_deal_id'), ['deal_id'], unique=False)

    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('owner', sa.Integer(), nullable=True),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('bounced', sa.Boolean(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('last_contact_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('custom', JSON, nullable=False),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    sa.UniqueConstraint('phone')
    )
    op.create_table('counter',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('ciphertext', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connector', 'name')
    )
    op.create_table('deal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('pipeline', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('stage_entered_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('owner', sa.Integer(), nullable=True),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('custom', JSON, nullable=False),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deal_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_stage'), ['stage'], unique=False)

    op.create_table('event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('subject', JSON, nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_processed_at'), ['processed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_type'), ['type'], unique=False)

    op.create_table('flow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('document', JSON, nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('flow_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flow_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', JSON, nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flow_key', 'version')
    )
    with op.batch_alter_table('flow_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flow_version_flow_key'), ['flow_key'], unique=False)

    op.create_table('lease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('expires_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('pipeline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('run',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('flow_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('cursor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('wake_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('exit_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('trigger_event', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('state', JSON, nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('claimed_until', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('queued_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.create_index('ix_run_contact_status', ['contact_id', 'status'], unique=False)
        batch_op.create_index('ix_run_flow_subject', ['flow_key', 'subject_key'], unique=False)
        batch_op.create_index('ix_run_status_wake', ['status', 'wake_at'], unique=False)
        batch_op.create_index('ix_run_subject_status', ['subject_key', 'status'], unique=False)

    op.create_table('stage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pipeline_id', 'key')
    )
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_pipeline_id'), ['pipeline_id'], unique=False)

    op.create_table('step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('node', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('port', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('output', JSON, nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'seq')
    )
    with op.batch_alter_table('step', schema=None) as batch_op:
        batch_op.create_index('ix_step_run_key', ['run_id', 'idempotency_key'], unique=False)

    op.create_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('due_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assignee', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_contact_id'), ['contact_id'], unique=False)

    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('team_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'user_id')
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_team_id'), ['team_id'], unique=False)

    op.create_table('trigger_index',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flow_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('spec', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trigger_index', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trigger_index_flow_key'), ['flow_key'], unique=False)
        batch_op.create_index('ix_trigger_kind_event', ['kind', 'event_type'], unique=False)

    op.create_table('trigger_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flow_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flow_key', 'position', 'subject_key', 'value')
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('away', sa.Boolean(), nullable=False),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('wait',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('node', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('expires_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('wait', schema=None) as batch_op:
        batch_op.create_index('ix_wait_match', ['event_type', 'subject_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_wait_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('wait', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wait_run_id'))
        batch_op.drop_index('ix_wait_match')

    op.drop_table('wait')
    op.drop_table('user')
    op.drop_table('trigger_mark')
    with op.batch_alter_table('trigger_index', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_kind_event')
        batch_op.drop_index(batch_op.f('ix_trigger_index_flow_key'))

    op.drop_table('trigger_index')
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_member_team_id'))

    op.drop_table('team_member')
    op.drop_table('team')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_contact_id'))
        batch_op.drop_index(batch_op.f('ix_task_assignee'))

    op.drop_table('task')
    with op.batch_alter_table('step', schema=None) as batch_op:
        batch_op.drop_index('ix_step_run_key')

    op.drop_table('step')
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_pipeline_id'))

    op.drop_table('stage')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index('ix_run_subject_status')
        batch_op.drop_index('ix_run_status_wake')
        batch_op.drop_index('ix_run_flow_subject')
        batch_op.drop_index('ix_run_contact_status')

    op.drop_table('run')
    op.drop_table('pipeline')
    op.drop_table('lease')
    with op.batch_alter_table('flow_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flow_version_flow_key'))

    op.drop_table('flow_version')
    op.drop_table('flow')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_type'))
        batch_op.drop_index(batch_op.f('ix_event_processed_at'))
        batch_op.drop_index(batch_op.f('ix_event_contact_id'))

    op.drop_table('event')
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_stage'))
        batch_op.drop_index(batch_op.f('ix_deal_contact_id'))

    op.drop_table('deal')
    op.drop_table('credential')
    op.drop_table('counter')
    op.drop_table('contact')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_deal_id'))
        batch_op.drop_index(batch_op.f('ix_activity_contact_id'))

    op.drop_table('activity')
