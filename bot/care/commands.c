/* commands.c - the command table. Adding a network never touches it. */
#include "care/commands.h"

#include <string.h>

/* Every command Hearth knows. */
static const struct hcmd commands[] = {
	{ "help", "[command]", "What I can do, or how one command works.", NULL, cmd_help, HCMD_WHEN_PAUSED | HCMD_LIMITED },
	{ "topics", "", "The topics I can tell you about.", NULL, cmd_topics, HCMD_LIMITED },
	{ "learn", "[topic]", "A short reading: today's, or the topic you name.",
	  "Without a topic you get today's reading. Name a topic (see !topics) for that one; close "
	  "spellings are fine, I will suggest what I have.", cmd_learn, HCMD_LIMITED },
	{ "checkin", "", "A gentle check-in question. Passing is always fine.", NULL, cmd_checkin, HCMD_LIMITED },
	{ "about", "", "What Hearth is and is not, and how it treats your data.", NULL, cmd_about,
	  HCMD_WHEN_PAUSED },
	{ "mood", "<1-10> [note] | optin | history | export | forget | optout | remind",
	  "Your private mood log (opt-in). Replies always come privately.", NULL, cmd_mood, HCMD_OWN_HELP },
	{ "lang", "[code]", "The language I use with you in private: `!lang de`, `!lang en`.", NULL, cmd_lang, 0 },
	{ "crisis", "", "Help right now: people you can reach today. Always answers.", NULL, cmd_crisis,
	  HCMD_WHEN_PAUSED },
	{ "mod", "help | status | pause | resume | set | welcome | checkin | topic-of-week | quiet | reload | stats",
	  "Moderator tools for this room.", NULL, cmd_mod, HCMD_MODERATOR | HCMD_WHEN_PAUSED | HCMD_OWN_HELP },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct hcmd *commands_list(size_t *n)
{
	*n = NCOMMANDS;
	return commands;
}

const struct hcmd *commands_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}
