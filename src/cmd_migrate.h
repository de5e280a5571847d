/* cmd_migrate.h — `vmon migrate`: move the VM of a vmon's API socket live (see cmd_migrate.c). */
#ifndef VMON_CMD_MIGRATE_H
#define VMON_CMD_MIGRATE_H

#include "cli.h"

/* cmd_migrate - run `vmon migrate` as @cli says; returns the process's exit status. */
int cmd_migrate(const struct cli *cli);

#endif
