#!/bin/bash
# wordpress build step, run by scripts/build-image inside the build chroot.
set -euo pipefail
# shellcheck source=/dev/null # images/common/lib.sh
. /tmp/demux-build/lib.sh

db_init
db_start
db_create_app

# Debian's /usr/share/wordpress/wp-config.php reads
# /etc/wordpress/config-<host>.php and falls back to config-default.php: the
# default file makes every restored copy find its configuration whatever its
# Host. siteurl/home stay in the database (wp_options), where demux's
# wordpress profile rewrites them.
# shellcheck disable=SC2016 # PHP code
php -r '
$salt = function () { return bin2hex(random_bytes(32)); };
$e = function ($v) { return var_export($v, true); };
$c = "<?php\n// Written by scripts/build-image (images/wordpress/setup.sh).\n";
foreach ([
	"DB_NAME" => getenv("DB_NAME"), "DB_USER" => getenv("DB_USER"),
	"DB_PASSWORD" => getenv("DB_PASSWORD"), "DB_HOST" => "127.0.0.1",
	"DB_CHARSET" => "utf8mb4", "DB_COLLATE" => "",
	"AUTH_KEY" => $salt(), "SECURE_AUTH_KEY" => $salt(), "LOGGED_IN_KEY" => $salt(),
	"NONCE_KEY" => $salt(), "AUTH_SALT" => $salt(), "SECURE_AUTH_SALT" => $salt(),
	"LOGGED_IN_SALT" => $salt(), "NONCE_SALT" => $salt(),
	"WP_CONTENT_DIR" => "/var/lib/wordpress/wp-content",
	// No network here and none wanted: no update checks, no cron self-requests.
	"DISABLE_WP_CRON" => true, "AUTOMATIC_UPDATER_DISABLED" => true,
	"WP_AUTO_UPDATE_CORE" => false, "WP_HTTP_BLOCK_EXTERNAL" => true,
	"WP_ALLOW_MULTISITE" => false, "WP_DEBUG" => false,
] as $k => $v) {
	$c .= "define(" . $e($k) . ", " . $e($v) . ");\n";
}
$c .= "\$table_prefix = " . $e(getenv("DB_PREFIX")) . ";\n";
echo $c;' >/etc/wordpress/config-default.php
chmod 640 /etc/wordpress/config-default.php
say "wordpress: /etc/wordpress/config-default.php written"

HTTP_HOST="$DOMAIN" php /tmp/demux-build/install.php

# One page render through the real front controller as a check.
HTTP_HOST="$DOMAIN" SERVER_NAME="$DOMAIN" SERVER_SOFTWARE=nginx REQUEST_METHOD=GET REQUEST_URI=/ SCRIPT_NAME=/index.php \
	php /usr/share/wordpress/index.php >/tmp/demux-build/page.html
grep -q "http://$DOMAIN/" /tmp/demux-build/page.html || { head -c 2000 /tmp/demux-build/page.html; exit 1; }
say "wordpress: rendered / for $DOMAIN ($(wc -c </tmp/demux-build/page.html) bytes)"

db_stop
