/* mod.h - moderator commands (owner: moderation module). */
#ifndef HEARTH_MOD_H
#define HEARTH_MOD_H

#include "care/router.h"

int cmd_mod(struct hctx *ctx);

#endif
