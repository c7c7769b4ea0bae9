/* console.h - the local console chat: each input line is a message from one local member.
 *
 * A line starting with "/dm " is a private message to Hearth; any other line is said in the
 * group room "#lobby". Replies are printed with a header line "[room]" or "[private]". When
 * stdin is not a terminal, the console reads to the end of input, prints every reply and stops
 * the loop. */
#ifndef HEARTH_CONSOLE_H
#define HEARTH_CONSOLE_H

#include "core/app.h"

/* Creates the console transport, registers it with the app and starts reading stdin.
 * `as` is the member's name, role their role. */
int console_start(struct happ *app, const char *as, enum hrole role);

#endif
