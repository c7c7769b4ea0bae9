/* mod.h - moderator commands (owner: moderation module).
 *
 * `!mod` is one row of the command table (flags HCMD_MODERATOR | HCMD_WHEN_PAUSED: the router
 * refuses members and lets it through in a paused room). Subcommands: help, status, set
 * country|language|prefix|timezone, welcome set|on|off, topic-of-week (mod_room.c), pause,
 * resume, reload, stats [days], checkin add|list|remove, quiet HH:MM-HH:MM [zone] | off. All but help
 * change or describe one group room, so in a private chat they explain that and change nothing.
 * Stats are anonymous room aggregates over whole past days (never today), counting only days on
 * which at least cfg->stats_min_members members logged, in bands and rounded (mood_stats.c), and
 * are sent to the moderator privately. */
#ifndef HEARTH_MOD_H
#define HEARTH_MOD_H

#include "care/reply.h"

int cmd_mod(struct hctx *ctx);

#endif
