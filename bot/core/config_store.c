/* config_store.c - the [store] section's checks (kept out of config.c, which holds the table). */
#include "core/config.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The line of the config file that holds the url (for messages and secret_line), or 0. */
static int url_line(const struct config *c)
{
	char buf[4096];
	FILE *f;
	int n = 0, found = 0;

	if (!c->path || !(f = fopen(c->path, "r")))
		return 0;
	while (!found && fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, c->store_url) && strstr(buf, "url"))
			found = n;
	}
	fclose(f);
	return found;
}

static int url_has_password(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at = NULL;

	if (strstr(url, "password="))
		return 1;
	if (!auth)
		return 0;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	return at && memchr(auth, ':', (size_t)(at - auth)) != NULL;
}

int config_store_finish(struct config *c, struct config_problems *probs)
{
	const char *env = getenv("HEARTH_STORE_URL");
	int from_file = c->store_url && *c->store_url;

	/* The environment names the store when the file does not (containers, test runs). */
	if (!from_file && env && *env) {
		char *copy = strdup(env);
		if (!copy)
			return HE_NOMEM;
		free(c->store_url);
		c->store_url = copy;
	}
	if (!c->store_url || !*c->store_url)
		return HE_OK;
	if (from_file) {
		c->store_url_line = url_line(c);
		if (url_has_password(c->store_url) && !c->secret_line)
			c->secret_line = c->store_url_line ? c->store_url_line : 1;
	}
	if (strncmp(c->store_url, "postgresql://", 13) != 0 && strncmp(c->store_url, "postgres://", 11) != 0 &&
	    strncmp(c->store_url, "sqlite:", 7) != 0)
		config_problem(probs, c->store_url_line, "[store] url must start with postgresql:// "
			       "(or sqlite:PATH); leave it out to keep SQLite in data_dir");
	return HE_OK;
}
