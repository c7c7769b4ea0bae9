/* mood.c - placeholder until the mood module lands; replaced wholesale by its owner. */
#include "care/mood.h"
#include "core/err.h"
int mood_init(struct happ *app) { (void)app; return HE_OK; }
void mood_free(struct happ *app) { (void)app; }
int cmd_mood(struct hctx *ctx) { return hctx_reply(ctx, HDEST_PRIVATE, "Mood logs are not available yet."); }
int mood_room_stats(struct happ *app, const char *network, const char *room, int days,
		    long *entries, long *members, double *mean)
{ (void)app; (void)network; (void)room; (void)days; *entries = *members = 0; *mean = 0; return HE_OK; }
