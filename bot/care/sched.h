/* sched.h - scheduled check-ins per room (owner: scheduler module). */
#ifndef HEARTH_SCHED_H
#define HEARTH_SCHED_H

#include "core/app.h"

int sched_init(struct happ *app);
void sched_free(struct happ *app);       /* accepts an app without scheduler state */

#endif
