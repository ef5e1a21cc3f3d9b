# Helpers for images/*/setup.sh. Sourced inside the build chroot (private
# mount, PID and network namespaces: see scripts/build-image), as root.
# Environment: DB_NAME DB_USER DB_PASSWORD DB_PREFIX DOMAIN ADMIN_USER
# ADMIN_PASSWORD.
# shellcheck shell=bash disable=SC2119,SC2120

say() { printf '%s\n' "$*"; }

# A fresh data directory, created with the small redo log of
# /etc/mysql/mariadb.conf.d/90-demux.cnf: the one made by the package's
# postinst has MariaDB's 96 MB default, which a restored copy's
# root-file-system diff would carry.
db_init() {
	# debootstrap writes no /etc/hosts; mariadb-install-db wants "localhost"
	# to resolve (podman adds its own entries to this file at run time).
	[ -s /etc/hosts ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >/etc/hosts
	rm -rf /var/lib/mysql
	mkdir -p /var/lib/mysql /run/mysqld
	mariadb-install-db --user=root --datadir=/var/lib/mysql --skip-test-db --skip-name-resolve \
		--auth-root-authentication-method=socket >/tmp/demux-build/install-db.log 2>&1 ||
		{ cat /tmp/demux-build/install-db.log; return 1; }
	say "db: data directory created ($(du -sh /var/lib/mysql | cut -f1))"
}

db_start() {
	mkdir -p /run/mysqld
	mariadbd --user=root >/tmp/demux-build/mariadbd.log 2>&1 &
	DB_PID=$!
	local i=0
	until mariadb-admin --protocol=socket ping >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -ge 300 ] || ! kill -0 "$DB_PID" 2>/dev/null; then
			cat /tmp/demux-build/mariadbd.log
			say "db: mariadbd did not start"
			return 1
		fi
		sleep 0.1
	done
	say "db: mariadbd up"
}

db_stop() {
	mariadb-admin --protocol=socket shutdown
	wait "$DB_PID" 2>/dev/null || true
	say "db: mariadbd stopped"
}

db_sql() { mariadb --protocol=socket "$@"; }

# The application's database and its user, known only inside the copy: the
# app connects over 127.0.0.1, demux's post-restore SQL over the unix socket
# ('localhost'); MariaDB listens on 127.0.0.1 only (90-demux.cnf).
db_create_app() {
	db_sql <<SQL
CREATE DATABASE \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
-- mariadb-install-db also made a proxy grant for root@<build host name>.
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
FLUSH PRIVILEGES;
SQL
	say "db: database $DB_NAME and user $DB_USER@localhost, @127.0.0.1 created"
}
