/*
 * main — the demux binary: one executable, one subcommand per job.
 *
 * Each subcommand lives in the module that owns the job; this file only
 * dispatches and prints the overview.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "version.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    {"serve", cmd_serve, "serve [--config FILE]: run the daemon (pools, API, visitor pages)"},
    {"ls", cmd_list, "ls [--json]: list demos (admin token)"},
    {"claim", cmd_claim, "claim [--template T] [--json]: get a demo"},
    {"release", cmd_release, "release ID: end a demo now"},
    {"extend", cmd_extend, "extend ID --minutes N: give a demo more time"},
    {"status", cmd_status, "status [--json]: dependencies and pool figures"},
    {"config", cmd_config, "config check --config FILE: validate a configuration file"},
    {"proxy", cmd_proxy, "proxy config caddy|haproxy: print the proxy configuration demux expects"},
    {"firewall", cmd_firewall, "firewall apply|remove|status: the nftables rules isolating copies"},
    {"storage", cmd_storage,
     "storage setup|teardown|status: the btrfs store bounding copies' disk use"},
    {"template", cmd_template, "template create|ls|rm: make and manage checkpointed templates"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show this overview"},
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: demux COMMAND [ARGS]\n\n"
		"demux hands every visitor a private, fully working copy of a web application\n"
		"on its own subdomain, restored from a CRIU checkpoint.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'demux COMMAND --help' for a command's options.\n");
}

static int
cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("demux %s\n", DEMUX_VERSION);
	return 0;
}

static int
cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc, argv);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "demux: unknown command '%s' (see 'demux --help')\n", argv[1]);
	return 2;
}
