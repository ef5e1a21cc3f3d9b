/*
 * commands — entry points of demux's subcommands, each implemented by the
 * module that owns the job. argv[0] is the subcommand's own name. They return
 * the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef DEMUX_COMMANDS_H
#define DEMUX_COMMANDS_H

int cmd_config(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_list(int argc, char **argv); /* "demux ls" */
int cmd_claim(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_extend(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_firewall(int argc, char **argv);
int cmd_storage(int argc, char **argv);

#endif
