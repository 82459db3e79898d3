"""Auth tables: API tokens and ingest keys (SHA-256 only), flow webhook tokens and signing secrets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:52:09.353909
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import runtime.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', runtime.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('flow_hook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flow_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token_ciphertext', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('secret_ciphertext', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', runtime.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flow_key'),
    sa.UniqueConstraint('token_hash')
    )


def downgrade() -> None:
    op.drop_table('flow_hook')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
