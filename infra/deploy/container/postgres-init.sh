#!/bin/sh
# One database and one owner per service, as in production: no service can read another's tables.
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d), with each
# owner's password from the environment (INVENTORY_DB_PASSWORD, PAYMENT_DB_PASSWORD, ORDERS_DB_PASSWORD,
# NOTIFICATION_DB_PASSWORD, IDENTITY_DB_PASSWORD). A data directory made before a service existed
# lacks its database: run these two statements for it by hand, or start from an empty volume.
set -eu
for name in inventory payment orders notification identity; do
    password="$(printenv "$(echo "$name" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD")"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
SQL
done
