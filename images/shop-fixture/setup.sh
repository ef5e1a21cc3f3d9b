#!/bin/bash
# shop-fixture build step, run by scripts/build-image inside the build chroot.
set -euo pipefail
# shellcheck source=/dev/null # images/common/lib.sh
. /tmp/demux-build/lib.sh

alias_domain="alias.${DOMAIN#*.}"
# The back office's password is stored as PrestaShop stores it: a bcrypt hash
# from PHP's password_hash, checked with password_verify.
admin_passwd=$(php -r 'echo password_hash(getenv("ADMIN_PASSWORD"), PASSWORD_BCRYPT);')
case $admin_passwd in '$2y$'*) ;; *) echo "password_hash gave no bcrypt hash" >&2; exit 1 ;; esac

db_init
db_start
db_create_app
{
	printf "SET @shop_domain = '%s', @alias_domain = '%s';\n" "$DOMAIN" "$alias_domain"
	printf "SET @admin_email = '%s', @admin_passwd = '%s';\n" "$ADMIN_USER" "$admin_passwd"
	sed "s/\bps_/${DB_PREFIX}/g" /tmp/demux-build/schema.sql
} | db_sql "$DB_NAME"
say "db: schema loaded (main $DOMAIN, alias $alias_domain)"

# Database credentials for the PHP code (root-only file). The admin's
# password is not here: /admin checks ps_employee, as PrestaShop does.
mkdir -p /etc/demux
php -r 'echo "<?php\n// Written by scripts/build-image (images/shop-fixture/setup.sh).\nreturn ", var_export([
	"db_host" => "127.0.0.1", "db_port" => 3306,
	"db_name" => getenv("DB_NAME"), "db_user" => getenv("DB_USER"),
	"db_password" => getenv("DB_PASSWORD"), "db_prefix" => getenv("DB_PREFIX"),
], true), ";\n";' >/etc/demux/shop.php
chmod 600 /etc/demux/shop.php

# Syntax check, then one render so that the template's ps_smarty_cache already
# holds the product list with the template domain's links.
php -l /var/www/shop/index.php
HTTP_HOST="$DOMAIN" REQUEST_METHOD=GET REQUEST_URI=/ php /var/www/shop/index.php >/tmp/demux-build/page.html
grep -q "http://$DOMAIN/product/1" /tmp/demux-build/page.html || { cat /tmp/demux-build/page.html; exit 1; }
say "admin: $ADMIN_USER in ${DB_PREFIX}employee (bcrypt)"
say "app: rendered / for $DOMAIN, cache rows: $(db_sql -N "$DB_NAME" -e 'SELECT COUNT(*) FROM ps_smarty_cache')"

db_stop
