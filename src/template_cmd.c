/*
 * template_cmd — "demux template create|ls|rm": the command line of the
 * template module. It parses the options of each subcommand, loads the
 * configuration for the state directory and Podman's socket, and leaves the
 * work to template.c (ls, rm) and template_create.c (create).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/profile.h"
#include "commands.h"
#include "config.h"
#include "criu_kdat.h"
#include "isolation.h"
#include "log.h"
#include "template.h"
#include "template_create.h"
#include "template_restore.h"
#include "template_version.h"
#include "store/store.h"
#include "validate.h"
#include "xmalloc.h"

enum {
	OPT_CONFIG = 1000,
	OPT_STATE_DIR,
	OPT_SOCKET,
	OPT_NAME,
	OPT_IMAGE,
	OPT_PROFILE,
	OPT_PORT,
	OPT_HOST_PORT,
	OPT_DB_PORT,
	OPT_WARM,
	OPT_HEALTH,
	OPT_TIMEOUT,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_CPUS,
	OPT_DISK,
	OPT_LABEL,
	OPT_ENV,
	OPT_DOMAIN,
	OPT_COMPRESS,
	OPT_DB_NAME,
	OPT_DB_USER,
	OPT_DB_PASSWORD,
	OPT_EGRESS,
	OPT_KSM,
	OPT_CAPS,
	OPT_HELP,
};

static const struct option long_options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"name", required_argument, NULL, OPT_NAME},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"port", required_argument, NULL, OPT_PORT},
    {"host-port", required_argument, NULL, OPT_HOST_PORT},
    {"db-port", required_argument, NULL, OPT_DB_PORT},
    {"warm", required_argument, NULL, OPT_WARM},
    {"health", required_argument, NULL, OPT_HEALTH},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"pids", required_argument, NULL, OPT_PIDS},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"disk", required_argument, NULL, OPT_DISK},
    {"label", required_argument, NULL, OPT_LABEL},
    {"env", required_argument, NULL, OPT_ENV},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"db-name", required_argument, NULL, OPT_DB_NAME},
    {"db-user", required_argument, NULL, OPT_DB_USER},
    {"db-password", required_argument, NULL, OPT_DB_PASSWORD},
    {"egress", required_argument, NULL, OPT_EGRESS},
    {"ksm", required_argument, NULL, OPT_KSM},
    {"caps", required_argument, NULL, OPT_CAPS},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: demux template create --name NAME --image IMAGE [options]\n"
	    "       demux template ls\n"
	    "       demux template rm NAME\n"
	    "       demux template rollback NAME\n"
	    "\n"
	    "create on an existing NAME makes a new version beside the others; a running\n"
	    "demux serve replaces its ready copies with copies of it (claimed ones keep\n"
	    "theirs). rollback makes the version before the current one current again.\n"
	    "\n"
	    "create options (image labels demux.* give the defaults):\n"
	    "  --profile prestashop|wordpress|generic\n"
	    "  --port N            app port inside the container (demux.app_port, else 80)\n"
	    "  --db-port N         database port inside the container (demux.db_port)\n"
	    "  --host-port N       publish the app on 127.0.0.1:N (default: a free port)\n"
	    "  --health PATH       must answer 2xx before the checkpoint (demux.health)\n"
	    "  --warm PATH         page to fetch before the checkpoint (repeatable; default /)\n"
	    "  --timeout DURATION  how long to wait for the health URL (default 300s)\n"
	    "  --domain HOST       the template's own domain, sent as Host (demux.domain)\n"
	    "  --memory SIZE --pids N --cpus F   limits every restored copy inherits\n"
	    "                      (default: 1/32 of the machine's memory within 256m..1g,\n"
	    "                      256, a quarter of its CPUs within 0.25..1; 0 = no limit)\n"
	    "  --caps LIST         capabilities kept inside copies, all others dropped, no new\n"
	    "                      privileges (default " TEMPLATE_DEFAULT_CAPS ")\n"
	    "  --disk SIZE         bound on what each copy writes to its file system\n"
	    "                      (default 1g; needs demux's store: demux storage setup;\n"
	    "                      0 = no bound)\n"
	    "  --label K=V --env K=V             extra labels / environment (repeatable)\n"
	    "  --db-name, --db-user, --db-password   database credentials (demux.db_*)\n"
	    "  --compress none|zstd              archive compression (default none)\n"
	    "  --egress none|open  may copies open connections beyond the machine? (default\n"
	    "                      none; open puts the template on [network] egress_name)\n"
	    "  --ksm on|off        mark copies' private memory mergeable, so that the kernel's\n"
	    "                      KSM can share what copies hold alike (default off: merged\n"
	    "                      pages are a side channel between copies; docs/SECURITY.md)\n"
	    "common options: --config FILE (or DEMUX_CONFIG), --state-dir DIR, --socket PATH\n");
}

static int
parse_int_arg(const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *out < lo || *out > hi) {
		fprintf(stderr, "demux: template: %s '%s' must be a number in %ld..%ld\n", opt, v,
			lo, hi);
		return -1;
	}
	return 0;
}

static int
add_list(const char **list, int *n, const char *opt, const char *v)
{
	if (*n >= TEMPLATE_MAX_LIST) {
		fprintf(stderr, "demux: template: at most %d %s options\n", TEMPLATE_MAX_LIST, opt);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

static void
format_bytes(long long n, char *out, size_t outlen)
{
	if (n >= 1024LL * 1024 * 1024)
		snprintf(out, outlen, "%.1f GB", (double)n / (1024.0 * 1024 * 1024));
	else if (n >= 1024LL * 1024)
		snprintf(out, outlen, "%.1f MB", (double)n / (1024.0 * 1024));
	else if (n >= 1024)
		snprintf(out, outlen, "%.1f KB", (double)n / 1024.0);
	else
		snprintf(out, outlen, "%lld B", n);
}

/* This node's ready and claimed copies of template name per version
 * (ready[v], claimed[v] for v < nv), from the store the configuration names;
 * false when it cannot be read. */
static bool
count_copies(const struct config *cfg, const char *name, int *ready, int *claimed, int nv)
{
	struct store st;
	struct instance *v = NULL;
	char err[512];
	int n = 0;

	/* no store file yet: no copy either (and none is made here) */
	if (cfg->store_backend == STORE_SQLITE && access(cfg->store_path, F_OK) == -1)
		return true;
	if (store_open_configured(&st, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template ls: copies not counted: %s\n", err);
		return false;
	}
	if (st.ops->list(st.ctx, name, -1, &v, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template ls: copies not counted: %s\n", err);
		st.ops->close(st.ctx);
		return false;
	}
	for (int i = 0; i < n; i++) {
		int ver = v[i].version > 0 ? v[i].version : 1;

		/* versions are a node's own: other nodes' copies are theirs */
		if (ver >= nv || strcmp(v[i].node, cfg->node_name) != 0)
			continue;
		if (v[i].state == INSTANCE_READY)
			ready[ver]++;
		else if (v[i].state == INSTANCE_CLAIMED)
			claimed[ver]++;
	}
	free(v);
	st.ops->close(st.ctx);
	return true;
}

/* What a version is to the pool: serving, current but failed, fallback... */
static const char *
version_status(const struct template_pick *pk, int v, bool failed)
{
	if (v == pk->serving)
		return v == pk->current ? "current" : "serving";
	if (v == pk->current)
		return failed ? "failed*" : "current";
	if (failed)
		return "failed";
	return v == pk->fallback ? "previous" : "old";
}

static void
print_version(const struct template_meta *m, const char *status, bool counted, int ready,
	      int claimed)
{
	char size[32], disk[32], when[32], copies[32];
	time_t t = (time_t)m->created_at;
	struct tm tm;

	format_bytes(m->archive_bytes, size, sizeof(size));
	if (m->disk_bytes > 0)
		format_bytes(m->disk_bytes, disk, sizeof(disk));
	else
		snprintf(disk, sizeof(disk), "unbounded");
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	if (counted)
		snprintf(copies, sizeof(copies), "%d/%d", ready, claimed);
	else
		snprintf(copies, sizeof(copies), "?");
	printf("%-20s %7d %-9s %-40s %-10s %-7s %10s %7.0f ms %10s %13s  %s\n", m->name, m->version,
	       status, m->image, m->profile, m->compressed ? "tar.zst" : "tar", size,
	       m->checkpoint.wall_ms, disk, copies, when);
}

/* Every version of every template, with what the pool makes of it and how
 * many of its copies are ready and claimed. */
static int
cmd_ls(const struct config *cfg, const char *state_dir)
{
	struct template_meta *list = NULL, *m = xcalloc(1, sizeof(*m));
	char err[1024], reason[256];
	int n = 0, rc = 1;

	if (template_list(state_dir, &list, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template ls: %s\n", err);
		goto out;
	}
	rc = 0;
	if (n == 0) {
		printf("no templates in %s/templates\n", state_dir);
		goto out;
	}
	printf("%-20s %7s %-9s %-40s %-10s %-7s %10s %10s %10s %13s  %s\n", "NAME", "VERSION",
	       "STATUS", "IMAGE", "PROFILE", "ARCHIVE", "SIZE", "CHECKPOINT", "DISK",
	       "READY/CLAIMED", "CREATED");
	for (int i = 0; i < n; i++) {
		int v[TEMPLATE_MAX_VERSIONS], nv = 0, ready[TEMPLATE_MAX_VERSIONS + 1] = {0},
					      claimed[TEMPLATE_MAX_VERSIONS + 1] = {0};
		struct template_pick pk;
		bool counted;

		if (template_versions(state_dir, list[i].name, v, TEMPLATE_MAX_VERSIONS, &nv, err,
				      sizeof(err)) == -1 ||
		    template_pick(state_dir, list[i].name, &pk, err, sizeof(err)) == -1) {
			fprintf(stderr, "demux: template ls: %s\n", err);
			rc = 1;
			memset(&pk, 0, sizeof(pk));
		}
		counted =
		    count_copies(cfg, list[i].name, ready, claimed, TEMPLATE_MAX_VERSIONS + 1);
		for (int k = nv - 1; k >= 0; k--) {
			bool failed = template_version_failed(state_dir, list[i].name, v[k], reason,
							      sizeof(reason));

			if (template_load_version(state_dir, list[i].name, v[k], m, err,
						  sizeof(err)) == -1) {
				fprintf(stderr, "demux: template ls: %s\n", err);
				continue;
			}
			print_version(m, version_status(&pk, v[k], failed),
				      counted && v[k] <= TEMPLATE_MAX_VERSIONS,
				      v[k] <= TEMPLATE_MAX_VERSIONS ? ready[v[k]] : 0,
				      v[k] <= TEMPLATE_MAX_VERSIONS ? claimed[v[k]] : 0);
			if (failed)
				printf("%-20s %7d failed: %s\n", "", v[k], reason);
		}
	}
out:
	if (list != NULL)
		explicit_bzero(list, (size_t)n * sizeof(*list));
	free(list);
	explicit_bzero(m, sizeof(*m));
	free(m);
	return rc;
}

/* Removes every version of the template, then the images of their prepared
 * restores (template_restore.h), which Podman keeps while a copy still runs
 * on one. */
static int
cmd_rm(const struct config *cfg, const char *state_dir, const char *socket, const char *name)
{
	struct template_meta *m = xcalloc(TEMPLATE_MAX_VERSIONS, sizeof(*m));
	int v[TEMPLATE_MAX_VERSIONS], nv = 0, nm = 0;
	struct podman *p = NULL;
	char err[2048];
	int rc = 1;

	if (template_versions(state_dir, name, v, TEMPLATE_MAX_VERSIONS, &nv, err, sizeof(err)) ==
	    0)
		for (int k = 0; k < nv; k++)
			if (template_load_version(state_dir, name, v[k], &m[nm], err,
						  sizeof(err)) == 0)
				nm++;
	if (template_remove(state_dir, name, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template rm: %s\n", err);
		goto out;
	}
	printf("template %s removed\n", name);
	rc = 0;
	for (int k = 0; k < nm; k++) {
		if (m[k].restore_image[0] == '\0')
			continue;
		if (p == NULL)
			p = podman_open(socket, cfg->podman_timeout_ms);
		if (template_restore_remove_image(p, &m[k], err, sizeof(err)) == -1)
			fprintf(stderr,
				"demux: template rm: image %s stays: %s (remove it with \"podman "
				"image rm %s\" once no copy runs on it)\n",
				m[k].restore_image, err, m[k].restore_image);
	}
out:
	podman_close(p);
	explicit_bzero(m, TEMPLATE_MAX_VERSIONS * sizeof(*m));
	free(m);
	return rc;
}

/* Makes the version before the current one current again; a running demux
 * serve rolls its pool to it (template_version.h). */
static int
cmd_rollback(const char *state_dir, const char *name)
{
	char err[1024];
	int from, to;

	if (template_rollback(state_dir, name, &from, &to, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template rollback: %s\n", err);
		return 1;
	}
	printf("template %s: version %d is current again (was %d); a running demux serve "
	       "replaces its ready copies of version %d\n",
	       name, to, from, from);
	return 0;
}

/* What the command line asked for. */
struct args {
	const char *sub; /* "create", "ls", "rm" or "rollback" */
	const char *config_path;
	const char *state_dir;
	const char *socket;
	const char *target_name;
	struct template_options opt;
	int host_port; /* 0 = a free port */
	int timeout_s;
};

/* Where an option that takes a string as it is goes; NULL for the others. */
static const char **
string_option(struct args *a, int ch)
{
	switch (ch) {
	case OPT_CONFIG:
		return &a->config_path;
	case OPT_STATE_DIR:
		return &a->state_dir;
	case OPT_SOCKET:
		return &a->socket;
	case OPT_NAME:
		return &a->opt.name;
	case OPT_IMAGE:
		return &a->opt.image;
	case OPT_PROFILE:
		return &a->opt.profile;
	case OPT_HEALTH:
		return &a->opt.health_path;
	case OPT_DOMAIN:
		return &a->opt.domain;
	case OPT_DB_NAME:
		return &a->opt.db_name;
	case OPT_DB_USER:
		return &a->opt.db_user;
	case OPT_DB_PASSWORD:
		return &a->opt.db_password;
	case OPT_CAPS:
		return &a->opt.caps;
	default:
		return NULL;
	}
}

/* The create options whose value is checked or converted. 0, or -1 with a
 * message on stderr. */
static int
value_option(struct args *a, int ch, const char *v)
{
	struct template_options *opt = &a->opt;
	long n;

	switch (ch) {
	case OPT_PORT:
		if (parse_int_arg("--port", v, 1, 65535, &n) == -1)
			return -1;
		opt->app_port = (int)n;
		return 0;
	case OPT_HOST_PORT:
		if (parse_int_arg("--host-port", v, 1, 65535, &n) == -1)
			return -1;
		a->host_port = (int)n;
		return 0;
	case OPT_DB_PORT:
		if (parse_int_arg("--db-port", v, 0, 65535, &n) == -1)
			return -1;
		opt->db_port = (int)n;
		return 0;
	case OPT_PIDS:
		if (parse_int_arg("--pids", v, 0, 4194304, &n) == -1)
			return -1;
		opt->pids_limit = n;
		return 0;
	case OPT_WARM:
		return add_list(opt->warm, &opt->nwarm, "--warm", v);
	case OPT_LABEL:
		return add_list(opt->labels, &opt->nlabels, "--label", v);
	case OPT_ENV:
		return add_list(opt->env, &opt->nenv, "--env", v);
	case OPT_TIMEOUT:
		if (config_parse_duration(v, &a->timeout_s) == -1 || a->timeout_s < 1) {
			fprintf(stderr,
				"demux: template: --timeout '%s' is not a duration (30s, 5m)\n", v);
			return -1;
		}
		return 0;
	case OPT_MEMORY:
		if (template_parse_bytes(v, &opt->memory_bytes) == -1) {
			fprintf(stderr, "demux: template: --memory '%s' is not a size (512m, 1g)\n",
				v);
			return -1;
		}
		return 0;
	case OPT_DISK:
		if (template_parse_bytes(v, &opt->disk_bytes) == -1) {
			fprintf(stderr,
				"demux: template: --disk '%s' is not a size (1g, 512m, 0)\n", v);
			return -1;
		}
		return 0;
	case OPT_CPUS: {
		char *end;

		errno = 0;
		opt->cpus = strtod(v, &end);
		if (errno != 0 || end == v || *end != '\0' || opt->cpus < 0) {
			fprintf(stderr, "demux: template: --cpus '%s' is not a number\n", v);
			return -1;
		}
		return 0;
	}
	case OPT_KSM:
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
			fprintf(stderr, "demux: template: --ksm must be on or off\n");
			return -1;
		}
		opt->ksm = strcmp(v, "on") == 0;
		return 0;
	case OPT_EGRESS:
		if (strcmp(v, "open") != 0 && strcmp(v, "none") != 0) {
			fprintf(stderr, "demux: template: --egress must be none or open\n");
			return -1;
		}
		opt->egress = strcmp(v, "open") == 0;
		return 0;
	case OPT_COMPRESS:
		if (strcmp(v, "zstd") != 0 && strcmp(v, "none") != 0) {
			fprintf(stderr, "demux: template: --compress must be none or zstd\n");
			return -1;
		}
		opt->compress = strcmp(v, "zstd") == 0;
		return 0;
	default:
		return -1;
	}
}

/*
 * Reads the options and arguments of subcommand a->sub (argv[1]). 0 when the
 * command goes on; -1 when it stops here with exit status *rc (2 after a
 * message on stderr, 0 after --help).
 */
/* Subcommands that take a template name after the options. */
static bool
takes_name(const char *sub)
{
	return strcmp(sub, "rm") == 0 || strcmp(sub, "rollback") == 0;
}

static int
parse_args(int argc, char **argv, struct args *a, int *rc)
{
	char **av = argv + 1;
	const char **str;
	int ch;

	*rc = 2;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc - 1, av, "", long_options, NULL)) != -1) {
		bool create_only = ch >= OPT_NAME && ch < OPT_HELP;

		if (create_only && strcmp(a->sub, "create") != 0) {
			fprintf(stderr, "demux: template %s: option %s is for create only\n",
				a->sub, av[optind - 1]);
			return -1;
		}
		if (ch == OPT_HELP) {
			usage(stdout);
			*rc = 0;
			return -1;
		}
		if ((str = string_option(a, ch)) != NULL) {
			*str = optarg;
			continue;
		}
		if (ch < OPT_CONFIG) {
			fprintf(stderr, "demux: template %s: unknown or incomplete option '%s'\n",
				a->sub, av[optind - 1]);
			return -1;
		}
		if (value_option(a, ch, optarg) == -1)
			return -1;
	}
	optind++; /* index into argv, not argv + 1 */
	if (takes_name(a->sub) ? optind != argc - 1 : optind != argc) {
		fprintf(stderr, "demux: template %s: unexpected arguments\n", a->sub);
		usage(stderr);
		return -1;
	}
	if (takes_name(a->sub))
		a->target_name = argv[optind];
	return 0;
}

/* create: checks what needs no Podman first, so bad input fails fast. */
static int
cmd_create(const struct config *cfg, const struct args *a)
{
	struct template_options opt_net = a->opt;
	const struct template_options *opt = &opt_net;
	struct template_meta *m = NULL;
	struct podman *p = NULL;
	struct isolation iso;
	char err[2048], size[32];
	int rc = 1;

	if (opt->name == NULL || opt->image == NULL) {
		fprintf(stderr, "demux: template create: --name and --image are required\n");
		return 2;
	}
	if (validate_name(opt->name, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template create: template name '%s': %s\n", opt->name, err);
		return 1;
	}
	if (opt->profile != NULL && profile_find(opt->profile) == NULL) {
		profile_names(err, sizeof(err));
		fprintf(stderr, "demux: template create: unknown profile '%s' (known: %s)\n",
			opt->profile, err);
		return 1;
	}
	p = podman_open(a->socket, cfg->podman_timeout_ms);
	if (podman_ping(p, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template create: %s\n", err);
		goto out;
	}
	/* The template container runs isolated like its copies, which keep its network. */
	if (isolation_setup(cfg, p, &iso, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template create: %s\n", err);
		goto out;
	}
	if (criu_kdat_ensure(err, sizeof(err)) == -1)
		log_warnx("criu: %s", err);
	opt_net.network = isolation_network_name(cfg, opt->egress);
	m = xcalloc(1, sizeof(*m));
	if (template_create(p, opt, a->state_dir, a->host_port, a->timeout_s, m, err,
			    sizeof(err)) == -1) {
		fprintf(stderr, "demux: template create: %s\n", err);
		goto out;
	}
	format_bytes(m->archive_bytes, size, sizeof(size));
	printf("template %s version %d: %s (%s), checkpoint %.0f ms (CRIU %.0f ms, %lld pages)\n",
	       m->name, m->version, m->archive_path, size, m->checkpoint.wall_ms,
	       m->checkpoint.criu_ms, m->checkpoint.pages_written);
	rc = 0;
out:
	podman_close(p);
	free(m);
	return rc;
}

int
cmd_template(int argc, char **argv)
{
	struct args a;
	struct config *cfg = NULL;
	char err[2048];
	int rc;
	enum log_level lvl;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	memset(&a, 0, sizeof(a));
	a.sub = argv[1];
	if (strcmp(a.sub, "create") != 0 && strcmp(a.sub, "ls") != 0 && !takes_name(a.sub)) {
		fprintf(stderr,
			"demux: template: unknown subcommand '%s' (create, ls, rm, rollback)\n",
			a.sub);
		return 2;
	}
	a.config_path = getenv("DEMUX_CONFIG");
	a.timeout_s = TEMPLATE_DEFAULT_TIMEOUT_S;
	template_options_init(&a.opt);
	if (parse_args(argc, argv, &a, &rc) == -1)
		return rc;
	cfg = xcalloc(1, sizeof(*cfg));
	rc = 1;
	if (config_load(cfg, a.config_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: %s\n", err);
		goto out;
	}
	if (log_level_parse(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	if (a.state_dir == NULL) {
		a.state_dir = cfg->state_dir;
	} else {
		char derived[sizeof(cfg->store_path)];

		/* the store that lives in the state directory given */
		snprintf(derived, sizeof(derived), "%.200s/demux.db", cfg->state_dir);
		if (strcmp(cfg->store_path, derived) == 0)
			snprintf(cfg->store_path, sizeof(cfg->store_path), "%.200s/demux.db",
				 a.state_dir);
	}
	if (a.socket == NULL)
		a.socket = cfg->podman_socket;
	if (strcmp(a.sub, "ls") == 0)
		rc = cmd_ls(cfg, a.state_dir);
	else if (strcmp(a.sub, "rm") == 0)
		rc = cmd_rm(cfg, a.state_dir, a.socket, a.target_name);
	else if (strcmp(a.sub, "rollback") == 0)
		rc = cmd_rollback(a.state_dir, a.target_name);
	else
		rc = cmd_create(cfg, &a);
out:
	free(cfg);
	return rc;
}
