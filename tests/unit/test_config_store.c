/* test_config_store.c - [store] url: the scheme checked with the line, a password in the URL
 * makes the file a secret one, HEARTH_STORE_URL only when the file names no store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"

static struct config *load(const char *text, struct config_problems *p)
{
	char path[] = "/tmp/hearth-cfgstore-XXXXXX";
	int fd = mkstemp(path);
	struct config *c = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(p, 0, sizeof(*p));
	assert_int_equal(config_load(path, &c, p), HE_OK);
	if (c)
		config_finish(c, p);
	unlink(path);
	return c;
}

static void bad_scheme_named_with_line(void **state)
{
	struct config_problems p;
	struct config *c = load("[bot]\nprefix = !\n\n[store]\nurl = mysql://root@db/hearth\n", &p);

	assert_non_null(c);
	assert_true(p.n >= 1);
	assert_int_equal(p.items[0].line, 5);
	assert_non_null(strstr(p.items[0].msg, "[store] url must start with postgresql://"));
	config_free(c);
}

static void password_in_url_is_a_secret(void **state)
{
	struct config_problems p;
	struct config *c = load("[store]\nurl = postgresql://hearth:s3cret@db/hearth\n", &p);

	assert_int_equal(p.n, 0);
	assert_int_equal(c->secret_line, 2);
	config_free(c);
	c = load("[store]\nurl = postgresql://hearth@db/hearth?sslmode=require\n", &p);
	assert_int_equal(p.n, 0);
	assert_int_equal(c->secret_line, 0);
	assert_string_equal(c->store_url, "postgresql://hearth@db/hearth?sslmode=require");
	config_free(c);
}

static void environment_only_when_file_is_silent(void **state)
{
	struct config_problems p;
	struct config *c;

	setenv("HEARTH_STORE_URL", "postgresql://env@db/hearth", 1);
	c = load("[bot]\nprefix = !\n", &p);
	assert_string_equal(c->store_url, "postgresql://env@db/hearth");
	config_free(c);
	c = load("[store]\nurl = postgresql://file@db/hearth\n", &p);
	assert_string_equal(c->store_url, "postgresql://file@db/hearth");
	config_free(c);
	unsetenv("HEARTH_STORE_URL");
	c = load("[bot]\nprefix = !\n", &p);
	assert_true(!c->store_url || !*c->store_url);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_scheme_named_with_line),
		cmocka_unit_test(password_in_url_is_a_secret),
		cmocka_unit_test(environment_only_when_file_is_silent),
	};
	hlog_set_level(HLOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
