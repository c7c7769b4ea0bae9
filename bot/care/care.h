/* care.h - starts and stops the support features.
 *
 * care_init() creates struct care (care/state.h), runs every feature module's setup in order
 * (their migrations included) and installs the router as the app's message handler;
 * care_free() tears them down in reverse. */
#ifndef HEARTH_CARE_H
#define HEARTH_CARE_H

#include "care/state.h"
#include "core/app.h"

int care_init(struct happ *app);
void care_free(struct happ *app);      /* accepts an app whose care is NULL */

/* Loads content from cfg->content_dir; on failure keeps what was there and returns the error
 * (already logged with FILE:LINE). */
int care_load_content(struct happ *app);

#endif
