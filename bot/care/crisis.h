/* crisis.h - crisis safety: detection, the private answer, moderators' alerts (owner: crisis
 * module). */
#ifndef HEARTH_CRISIS_H
#define HEARTH_CRISIS_H

#include "care/router.h"
#include "core/app.h"

int crisis_init(struct happ *app);
void crisis_free(struct happ *app);      /* accepts an app without crisis state */
int cmd_crisis(struct hctx *ctx);
/* Runs on every message: when it holds crisis language, answers privately. Returns 0. */
int crisis_scan(struct hctx *ctx);

#endif
