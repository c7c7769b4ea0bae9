/* mod.c - placeholder until the moderation module lands; replaced wholesale by its owner. */
#include "care/mod.h"
int cmd_mod(struct hctx *ctx) { return hctx_reply(ctx, HDEST_SAME, "Moderator commands are not available yet."); }
