-- GridSteward: PostGIS initialisation, for operators whose application role is not a superuser.
--
-- The first migration (`gridsteward migrate`) runs CREATE EXTENSION IF NOT EXISTS postgis and
-- pg_trgm. postgis is not a "trusted" extension, so only a superuser may create it; once it
-- exists, the migration's IF NOT EXISTS is a no-op that any role may run. Run this file once,
-- as a superuser, connected to GridSteward's database:
--
--   psql -v ON_ERROR_STOP=1 -d gridsteward -f init.sql                       (extensions only)
--   psql -v ON_ERROR_STOP=1 -d gridsteward \
--        -v owner_password='...' -v app_password='...' -f init.sql           (and the roles)
--
-- The postgis/postgis image runs it on first start from /docker-entrypoint-initdb.d (compose.yaml
-- mounts it there); without the password variables it only creates the extensions.
-- It is safe to run again.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- Migration 0014 (boundary versions that never overlap in time) also creates btree_gist, a
-- trusted extension a database owner may create; created here too, for locked-down roles.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Least-privilege roles (optional; created only when both passwords are given):
--
--   gridsteward_owner  owns the database and every table. Runs `gridsteward migrate` (DDL).
--                      Not a superuser, cannot create roles or databases.
--   gridsteward_app    what the API and the workers connect as: read and write rows, use
--                      sequences, nothing else. It cannot create, alter or drop tables, so a
--                      compromised API cannot change the schema.
--
-- Then point `migrate` at the owner and everything else at the app role, e.g.
--   migrate:        DATABASE_URL=postgresql://gridsteward_owner:...@db:5432/gridsteward
--   serve, worker:  DATABASE_URL=postgresql://gridsteward_app:...@db:5432/gridsteward
-- One role for both (the owner) also works; it is simpler and still not a superuser.

\if :{?owner_password}
\if :{?app_password}

SELECT current_database() AS db \gset

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridsteward_owner') AS missing \gset
\if :missing
CREATE ROLE gridsteward_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
\endif
ALTER ROLE gridsteward_owner PASSWORD :'owner_password';

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridsteward_app') AS missing \gset
\if :missing
CREATE ROLE gridsteward_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
\endif
ALTER ROLE gridsteward_app PASSWORD :'app_password';

-- The owner owns the database, hence (PostgreSQL 15) the public schema's CREATE right.
ALTER DATABASE :"db" OWNER TO gridsteward_owner;
GRANT USAGE, CREATE ON SCHEMA public TO gridsteward_owner;

-- The app may connect and use the schema; nobody else may connect by default (grant CONNECT
-- to a monitoring or backup role explicitly; superusers are not affected).
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO gridsteward_owner, gridsteward_app;
GRANT USAGE ON SCHEMA public TO gridsteward_app;

-- Rows, not structure: for tables the owner creates from now on (each migration) ...
ALTER DEFAULT PRIVILEGES FOR ROLE gridsteward_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO gridsteward_app;
ALTER DEFAULT PRIVILEGES FOR ROLE gridsteward_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO gridsteward_app;
ALTER DEFAULT PRIVILEGES FOR ROLE gridsteward_owner IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO gridsteward_app;
-- ... and for any that already exist (running this file after a migration).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gridsteward_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO gridsteward_app;
-- PostGIS's own table stays read-only (SELECT is granted to everyone by the extension).
REVOKE INSERT, UPDATE, DELETE ON spatial_ref_sys FROM gridsteward_app;

\else
\echo 'init.sql: app_password not set; the extensions exist, no roles were created'
\endif
\else
\echo 'init.sql: owner_password not set; the extensions exist, no roles were created'
\endif
