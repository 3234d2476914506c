"""accounts, revoked tokens and the audit log

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_FUNCTIONS = r"""
-- Who did it: the transaction's gridline.actor (set by the API and the CLI), else the
-- database user; through what: gridline.via (api, cli), else sql.
CREATE OR REPLACE FUNCTION gridline_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key text := TG_ARGV[0];
    who text := coalesce(nullif(current_setting('gridline.actor', true), ''), session_user);
    how text := coalesce(nullif(current_setting('gridline.via', true), ''), 'sql');
    rid text := nullif(current_setting('gridline.request_id', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor, via, request_id, operation, table_name, row_id, after)
        SELECT who, how, rid, TG_OP, TG_TABLE_NAME, j ->> key, j - 'password_hash'
        FROM (SELECT to_jsonb(r) AS j FROM new_rows r) AS s;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit_log (actor, via, request_id, operation, table_name, row_id, before)
        SELECT who, how, rid, TG_OP, TG_TABLE_NAME, j ->> key, j - 'password_hash'
        FROM (SELECT to_jsonb(r) AS j FROM old_rows r) AS s;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_log
            (actor, via, request_id, operation, table_name, row_id, before, after)
        SELECT who, how, rid, TG_OP, TG_TABLE_NAME, coalesce(n.j ->> key, o.j ->> key),
               o.j - 'password_hash', n.j - 'password_hash'
        FROM (SELECT to_jsonb(r) AS j FROM old_rows r) AS o
        FULL JOIN (SELECT to_jsonb(r) AS j FROM new_rows r) AS n ON o.j -> key = n.j -> key;
    ELSE
        INSERT INTO audit_log (actor, via, request_id, operation, table_name)
        VALUES (who, how, rid, TG_OP, TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- Statement-level triggers with transition tables: one INSERT ... SELECT per statement, so a
-- bulk import of 100,000 rows is audited in one pass, in the import's own transaction.
CREATE OR REPLACE FUNCTION gridline_audit_attach(tbl regclass, key text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS'
                   ' new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridline_audit(%L)', tbl, key);
    EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS'
                   ' old_rows NEW TABLE AS new_rows FOR EACH STATEMENT'
                   ' EXECUTE FUNCTION gridline_audit(%L)', tbl, key);
    EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS'
                   ' old_rows FOR EACH STATEMENT EXECUTE FUNCTION gridline_audit(%L)', tbl, key);
    EXECUTE format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION gridline_audit(%L)', tbl, key);
END $$;

CREATE OR REPLACE FUNCTION audit_log_is_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log rows are never changed or deleted' USING ERRCODE = '42501';
END $$;

-- The application's role keeps INSERT and SELECT on audit_log only; triggers refuse UPDATE,
-- DELETE and TRUNCATE even to a role that has them (a superuser, or after a restore).
CREATE OR REPLACE FUNCTION gridline_seal_audit() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_is_history'
                   AND tgrelid = 'audit_log'::regclass) THEN
        CREATE TRIGGER audit_log_is_history BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_is_history();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_history();
    END IF;
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
END $$;
"""

# Every table of the schema with a one-column primary key (all of them) is audited.
TABLES_WITH_KEYS = """
    SELECT c.oid::regclass AS tbl, a.attname AS key
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
    WHERE n.nspname = 'public' AND c.relkind = 'r'
      AND c.relname NOT IN ('audit_log', 'spatial_ref_sys', 'alembic_version')
"""
ATTACH_EVERY_TABLE = f"""
DO $$ DECLARE t record; BEGIN
    FOR t IN {TABLES_WITH_KEYS} LOOP PERFORM gridline_audit_attach(t.tbl, t.key); END LOOP;
END $$
"""
DETACH_EVERY_TABLE = f"""
DO $$ DECLARE t record; op text; BEGIN
    FOR t IN {TABLES_WITH_KEYS} LOOP
        FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            EXECUTE format('DROP TRIGGER IF EXISTS audit_%s ON %s', op, t.tbl);
        END LOOP;
    END LOOP;
END $$
"""


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.String(length=64), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"], unique=False)
    op.create_index("ix_audit_log_table_row", "audit_log", ["table_name", "row_id"], unique=False)
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "street",
                "office",
                "leader",
                "worker",
                "viewer",
                name="account_role",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(role <> 'street' OR street_id IS NOT NULL)"
            " AND (role NOT IN ('office', 'leader') OR community_id IS NOT NULL)"
            " AND (role <> 'worker' OR worker_id IS NOT NULL)"
            " AND (role <> 'admin' OR (street_id IS NULL AND community_id IS NULL))",
            name=op.f("ck_account_role_has_its_area"),
        ),
        sa.CheckConstraint(
            "username ~ '^[a-z0-9][a-z0-9_.-]{1,63}$'", name=op.f("ck_account_username_format")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_account_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["street.id"], name=op.f("fk_account_street_id_street")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_account_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("username", name=op.f("uq_account_username")),
    )
    op.create_index(op.f("ix_account_community_id"), "account", ["community_id"], unique=False)
    op.create_index(op.f("ix_account_street_id"), "account", ["street_id"], unique=False)
    op.create_index(op.f("ix_account_worker_id"), "account", ["worker_id"], unique=False)
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "revoked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_revoked_token_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_token")),
    )
    op.create_index(
        op.f("ix_revoked_token_account_id"), "revoked_token", ["account_id"], unique=False
    )
    # ### end Alembic commands ###
    op.execute(AUDIT_FUNCTIONS)
    op.execute(ATTACH_EVERY_TABLE)
    op.execute("SELECT gridline_seal_audit()")


def downgrade() -> None:
    op.execute(DETACH_EVERY_TABLE)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f("ix_revoked_token_account_id"), table_name="revoked_token")
    op.drop_table("revoked_token")
    op.drop_index(op.f("ix_account_worker_id"), table_name="account")
    op.drop_index(op.f("ix_account_street_id"), table_name="account")
    op.drop_index(op.f("ix_account_community_id"), table_name="account")
    op.drop_table("account")
    op.drop_index("ix_audit_log_table_row", table_name="audit_log")
    op.drop_index("ix_audit_log_request_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    # ### end Alembic commands ###
    op.execute(
        "DROP FUNCTION gridline_seal_audit(); DROP FUNCTION gridline_audit_attach(regclass, text);"
        " DROP FUNCTION gridline_audit(); DROP FUNCTION audit_log_is_history()"
    )
