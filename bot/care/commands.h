/* commands.h - handlers named in the command table (router.c). Each lives in its feature's file. */
#ifndef HEARTH_COMMANDS_H
#define HEARTH_COMMANDS_H

#include "care/router.h"

/* learn.c */
int cmd_help(struct hctx *ctx);
int cmd_topics(struct hctx *ctx);
int cmd_learn(struct hctx *ctx);
int cmd_about(struct hctx *ctx);
/* checkin.c */
int cmd_checkin(struct hctx *ctx);

/* care.c: runs on every message before its command (crisis detection). Returns 0 to go on. */
int care_before_command(struct hctx *ctx);

#endif
