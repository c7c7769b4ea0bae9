/* sched.c - placeholder until the scheduler lands; replaced wholesale by its owner. */
#include "care/sched.h"
#include "core/err.h"
int sched_init(struct happ *app) { (void)app; return HE_OK; }
void sched_free(struct happ *app) { (void)app; }
