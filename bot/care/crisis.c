/* crisis.c - placeholder until the crisis module lands; replaced wholesale by its owner. */
#include "care/crisis.h"
#include "core/err.h"
int crisis_init(struct happ *app) { (void)app; return HE_OK; }
void crisis_free(struct happ *app) { (void)app; }
int cmd_crisis(struct hctx *ctx) { return hctx_reply(ctx, HDEST_PRIVATE, "Crisis resources are not available yet."); }
int crisis_scan(struct hctx *ctx) { (void)ctx; return HE_OK; }
