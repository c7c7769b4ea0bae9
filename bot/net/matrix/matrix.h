/* matrix.h - the Matrix transport (client-server API v3 over libcurl).
 *
 * matrix_start() registers a transport named "matrix" with the app and begins, inside the app's
 * event loop: log in once (or reuse the access token and device kept in the store), upload the
 * sync filter, then long-poll /sync and hand members' messages to happ_dispatch(). It never
 * blocks and never exits because the homeserver is away; a revoked token without a configured
 * password stops the loop with app->exit_code = 1. End-to-end encryption is not done here: it
 * plugs in behind bot/net/matrix/mx_crypto.h. */
#ifndef HEARTH_MATRIX_H
#define HEARTH_MATRIX_H

#include "core/app.h"

/* Returns 0, or a negative HE_* code when the transport cannot even be set up (logged). */
int matrix_start(struct happ *app);

#endif
