/* e2e_router.h - a tiny in-process "homeserver" for the e2e module's tests, benchmark and
 * fuzzer: it answers the requests e2e_outgoing() hands out the way Synapse does (keys/upload
 * keeps keys and refuses a reused one-time key id with other contents, keys/query returns device
 * keys, keys/claim hands out one one-time key or the fallback key, sendToDevice queues events for
 * the recipient's next sync, cross-signing uploads need UIA once, and keys/query returns the
 * users' master and self-signing keys with the signatures uploaded). It is not a Matrix server:
 * the real Synapse and nio members come with the transport's integration tests.
 *
 * The bodies are in e2e_router.c, compiled once into the hearth_testkit library that unit tests,
 * benchmarks and fuzzers link. Set-up failures that a test cannot go on from abort(). */
#ifndef HEARTH_TEST_E2E_ROUTER_H
#define HEARTH_TEST_E2E_ROUTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "net/matrix/crypto/e2e.h"
#include "store/store.h"

#define HS_MAX_CLIENTS 64

struct hs;

/* One client device: its own store and e2e instance. */
struct cl {
	struct hs *hs;
	struct store *st;
	struct e2e *e;
	char user[64];
	char dev[64];
	char path[320]; /* store file, "" for :memory: */
	json_t *inbox;  /* to-device events for the next sync */
	json_t *changed; /* users whose devices changed since the last sync */
	bool offline;   /* requests are not answered */
};

struct hs {
	struct cl *cl[HS_MAX_CLIENTS];
	int ncl;
	json_t *devices;   /* user -> device -> device_keys */
	json_t *otks;      /* user -> device -> {key id: key object} */
	json_t *fallbacks; /* user -> device -> {key id: key object} (unused ones) */
	json_t *xsign;     /* user -> device_signing body */
	json_t *sigs;      /* last signatures/upload body */
	json_t *todev;     /* "user device" -> how many to-device messages were addressed to it
			    * (m.room_key.withheld apart: in withheld) */
	json_t *withheld;  /* "user device" -> {code, n}: m.room_key.withheld it was sent */
	int conflicts;     /* one-time key uploads refused as duplicates */
	int requests;      /* requests answered */
	int claims;        /* of which /keys/claim */
	char tamper_dev[64]; /* this device's keys get a broken signature on upload */
	bool uia_done;
};

/* The pickle key every client uses. */
unsigned char *hs_test_key(void);

struct hs *hs_new(void);
/* Frees every client (and unlinks its store file) and the server's data. NULL-safe. */
void hs_free(struct hs *h);

/* o[a][b], created empty where missing (b NULL: o[a]). */
json_t *hs_sub(json_t *o, const char *a, const char *b);
/* The client user/dev, or NULL. */
struct cl *hs_client(struct hs *h, const char *user, const char *dev);
/* Every client hears at its next sync that user's devices changed. */
void hs_changed(struct hs *h, const char *user);
/* The code of the last m.room_key.withheld sent to user's device dev (NULL: none); *n (may be
 * NULL) how many were sent to it. */
const char *hs_withheld(struct hs *h, const char *user, const char *dev, int *n);
/* How many to-device messages (m.room_key.withheld apart) were addressed to user's device dev. */
int hs_todev_count(struct hs *h, const char *user, const char *dev);

/* Adds a client with its store at path (NULL: in memory); aborts if it cannot be opened. */
struct cl *hs_add(struct hs *h, const char *user, const char *dev, const char *path);
/* Opens (or re-opens) c's store and e2e instance. */
int cl_open(struct cl *c);
/* Frees the client's e2e and store, as a crash or a stop would; the server keeps its data. */
void cl_close(struct cl *c);

/* Answers one request as the server would; *status is the HTTP status. */
json_t *hs_answer(struct hs *h, struct cl *c, const struct e2e_request *r, int *status);
/* Answers requests already handed out by e2e_outgoing() (as the transport would, including
 * the UIA retry). */
void hs_reply(struct hs *h, struct cl *c, const struct e2e_request **out, size_t k);
/* Answers every outgoing request of every client until none is left; returns how many. */
int hs_flush(struct hs *h);
/* One /sync for c: its to-device inbox, device list changes, key counts. */
int cl_sync(struct cl *c);
/* Requests and syncs for everyone until nothing moves. */
void hs_run(struct hs *h);

/* Every one of the n clients learns that room is encrypted (conf: the m.room.encryption
 * content, NULL for plain Megolm) and that the n clients and the nextra users in extra are
 * members. Returns 0 or the first error. */
int hs_join(struct cl **clients, int n, const char *room, json_t *conf, const char **extra,
	    int nextra);
/* Encrypts an m.notice like the transport: on HE_AGAIN answer the requests (no sync) and try
 * again. */
int cl_encrypt(struct cl *c, const char *room, const char *text, json_t **out);
/* Decrypts ev in room for c. On success the body goes to body (if not NULL; "" otherwise) and
 * the decrypted event to *plain_out (if not NULL; the caller frees it). A decrypted event
 * without a text body is HE_PROTO. */
int cl_decrypt(struct cl *c, const char *room, json_t *ev, char *body, size_t len,
	       json_t **plain_out);
/* Wraps encrypted content as the room event the homeserver would deliver. */
json_t *hs_event(struct cl *from, json_t *content, const char *event_id);

#endif
