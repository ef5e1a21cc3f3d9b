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

#include "app/profile.h"
#include "commands.h"
#include "config.h"
#include "criu_kdat.h"
#include "isolation.h"
#include "log.h"
#include "template.h"
#include "template_create.h"
#include "template_restore.h"
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

static int
cmd_ls(const char *state_dir)
{
	struct template_meta *list = NULL;
	char err[1024], size[32], disk[32], when[32];
	int n = 0;

	if (template_list(state_dir, &list, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template ls: %s\n", err);
		free(list);
		return 1;
	}
	if (n == 0) {
		printf("no templates in %s/templates\n", state_dir);
		free(list);
		return 0;
	}
	printf("%-20s %-40s %-10s %-10s %10s %10s %10s  %s\n", "NAME", "IMAGE", "PROFILE",
	       "ARCHIVE", "SIZE", "CHECKPOINT", "DISK", "CREATED");
	for (int i = 0; i < n; i++) {
		time_t t = (time_t)list[i].created_at;
		struct tm tm;

		format_bytes(list[i].archive_bytes, size, sizeof(size));
		if (list[i].disk_bytes > 0)
			format_bytes(list[i].disk_bytes, disk, sizeof(disk));
		else
			snprintf(disk, sizeof(disk), "unbounded");
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		printf("%-20s %-40s %-10s %-10s %10s %7.0f ms %10s  %s\n", list[i].name,
		       list[i].image, list[i].profile, list[i].compressed ? "tar.zst" : "tar", size,
		       list[i].checkpoint.wall_ms, disk, when);
	}
	free(list);
	return 0;
}

/* Removes the template's directory, then the image of its prepared restore
 * (template_restore.h), which Podman keeps while a copy still runs on it. */
static int
cmd_rm(const struct config *cfg, const char *state_dir, const char *socket, const char *name)
{
	struct template_meta *m = xcalloc(1, sizeof(*m));
	struct podman *p = NULL;
	char err[2048];
	bool loaded;
	int rc = 1;

	loaded = template_load(state_dir, name, m, err, sizeof(err)) == 0;
	if (template_remove(state_dir, name, err, sizeof(err)) == -1) {
		fprintf(stderr, "demux: template rm: %s\n", err);
		goto out;
	}
	printf("template %s removed\n", name);
	rc = 0;
	if (!loaded || m->restore_image[0] == '\0')
		goto out;
	p = podman_open(socket, cfg->podman_timeout_ms);
	if (template_restore_remove_image(p, m, err, sizeof(err)) == -1)
		fprintf(stderr,
			"demux: template rm: image %s stays: %s (remove it with \"podman image rm "
			"%s\" once no copy runs on it)\n",
			m->restore_image, err, m->restore_image);
out:
	podman_close(p);
	explicit_bzero(m, sizeof(*m));
	free(m);
	return rc;
}

/* What the command line asked for. */
struct args {
	const char *sub; /* "create", "ls" or "rm" */
	const char *config_path;
	const char *state_dir;
	const char *socket;
	const char *rm_name;
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
	if (strcmp(a->sub, "rm") == 0 ? optind != argc - 1 : optind != argc) {
		fprintf(stderr, "demux: template %s: unexpected arguments\n", a->sub);
		usage(stderr);
		return -1;
	}
	if (strcmp(a->sub, "rm") == 0)
		a->rm_name = argv[optind];
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
	printf("template %s: %s (%s), checkpoint %.0f ms (CRIU %.0f ms, %lld pages)\n", m->name,
	       m->archive_path, size, m->checkpoint.wall_ms, m->checkpoint.criu_ms,
	       m->checkpoint.pages_written);
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
	if (strcmp(a.sub, "create") != 0 && strcmp(a.sub, "ls") != 0 && strcmp(a.sub, "rm") != 0) {
		fprintf(stderr, "demux: template: unknown subcommand '%s' (create, ls, rm)\n",
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
	if (a.state_dir == NULL)
		a.state_dir = cfg->state_dir;
	if (a.socket == NULL)
		a.socket = cfg->podman_socket;
	if (strcmp(a.sub, "ls") == 0)
		rc = cmd_ls(a.state_dir);
	else if (strcmp(a.sub, "rm") == 0)
		rc = cmd_rm(cfg, a.state_dir, a.socket, a.rm_name);
	else
		rc = cmd_create(cfg, &a);
out:
	free(cfg);
	return rc;
}
