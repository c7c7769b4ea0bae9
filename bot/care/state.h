/* state.h - the state of the support features, one struct per app (app->care).
 *
 * care_init() (care.c) creates it and runs every feature's setup; each feature keeps its own
 * state behind one pointer here. A leaf header: features include it, not care.h, so that
 * care.c (which includes every feature to start it) is not part of an include cycle. */
#ifndef HEARTH_CARE_STATE_H
#define HEARTH_CARE_STATE_H

struct mood;
struct sched;
struct crisis;
struct welcome;
struct limit;

struct care {
	struct mood *mood;
	struct sched *sched;
	struct crisis *crisis;
	struct welcome *welcome;       /* welcome.c */
	struct limit *limit;           /* limit.c */
};

#endif
