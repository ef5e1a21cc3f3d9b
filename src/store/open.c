/*
 * store/open — the state store a configuration names ([store]): SQLite under
 * the state directory, or the Valkey / Redis server several nodes share.
 * Used by "demux serve" and by the commands that read the records.
 */
#include <string.h>

#include "config.h"
#include "store/store.h"

int
store_open_configured(struct store *st, const struct config *cfg, char *err, size_t errlen)
{
	struct store_valkey_options o;
	char password[CONFIG_STR];
	int rc;

	if (cfg->store_backend == STORE_SQLITE)
		return store_sqlite_open(st, cfg->store_path, err, errlen);
	if (config_store_password(cfg, password, sizeof(password), err, errlen) == -1)
		return -1;
	memset(&o, 0, sizeof(o));
	o.host = cfg->redis_host;
	o.port = cfg->redis_port;
	o.password = password;
	o.prefix = cfg->redis_key_prefix;
	o.connect_timeout_ms = 2000;
	o.command_timeout_ms = 3000;
	rc = store_valkey_open(st, &o, err, errlen);
	explicit_bzero(password, sizeof(password));
	return rc;
}
