/* limit.c - per-member answer limit in group rooms (see limit.h). */
#include "care/limit.h"
#include "care/state.h"
#include "core/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct limit_slot {
	unsigned char id[16];
	time_t at[LIMIT_MAX_PER_MINUTE]; /* the last answers, newest last */
	time_t noted;                  /* when the private note went out */
	time_t used;                   /* last touched, for reuse of the slot */
};

struct limit {
	unsigned char key[crypto_generichash_KEYBYTES];
	struct limit_slot slots[LIMIT_SLOTS];
};

static struct limit *state(struct happ *app)
{
	return app && app->care ? app->care->limit : NULL;
}

int limit_init(struct happ *app)
{
	struct limit *l;

	if (sodium_init() < 0)
		return HE_CRYPTO;
	if (!(l = calloc(1, sizeof(*l))))
		return HE_NOMEM;
	randombytes_buf(l->key, sizeof(l->key));
	app->care->limit = l;
	return HE_OK;
}

void limit_free(struct happ *app)
{
	struct limit *l = state(app);

	if (!l)
		return;
	sodium_memzero(l, sizeof(*l));
	free(l);
	app->care->limit = NULL;
}

enum limit_verdict limit_take(struct happ *app, const char *network, const char *room,
			      const char *member, time_t now)
{
	struct limit *l = state(app);
	crypto_generichash_state st;
	unsigned char id[16];
	struct limit_slot *s = NULL, *oldest = NULL;
	int per = app->cfg->room_answers_per_minute;

	if (!l || per <= 0)
		return LIMIT_OK;
	if (per > LIMIT_MAX_PER_MINUTE)
		per = LIMIT_MAX_PER_MINUTE;
	crypto_generichash_init(&st, l->key, sizeof(l->key), sizeof(id));
	crypto_generichash_update(&st, (const unsigned char *)network, strlen(network) + 1);
	crypto_generichash_update(&st, (const unsigned char *)room, strlen(room) + 1);
	crypto_generichash_update(&st, (const unsigned char *)member, strlen(member) + 1);
	crypto_generichash_final(&st, id, sizeof(id));
	for (size_t i = 0; i < LIMIT_SLOTS && !s; i++) {
		if (l->slots[i].used && memcmp(l->slots[i].id, id, sizeof(id)) == 0)
			s = &l->slots[i];
		else if (!oldest || l->slots[i].used < oldest->used)
			oldest = &l->slots[i];
	}
	if (!s) {
		/* A slot idle for over a minute holds nothing that still counts. */
		s = oldest;
		memset(s, 0, sizeof(*s));
		memcpy(s->id, id, sizeof(id));
	}
	s->used = now;
	/* at[] keeps the last `per` answers at its end: the oldest of them is at[MAX - per]. */
	if (s->at[LIMIT_MAX_PER_MINUTE - per] && now - s->at[LIMIT_MAX_PER_MINUTE - per] < 60) {
		/* `per` answers inside the last minute already. */
		if (s->noted && now - s->noted < 60)
			return LIMIT_SILENT;
		s->noted = now;
		return LIMIT_NOTE;
	}
	memmove(&s->at[0], &s->at[1], sizeof(s->at[0]) * (LIMIT_MAX_PER_MINUTE - 1));
	s->at[LIMIT_MAX_PER_MINUTE - 1] = now;
	return LIMIT_OK;
}
