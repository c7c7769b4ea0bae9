/* main.c - command line, start-up and shutdown of Hearth. */
#include "care/care.h"
#include "cli/store_copy.h"
#include "care/content.h"
#include "care/crisis.h"
#include "care/cron.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "net/console/console.h"
#include "net/matrix/matrix.h"
#include "net/irc/irc.h"
#include "store/store.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_CONFIG = 1, EXIT_USAGE = 2 };

struct options {
	const char *config;
	const char *data_dir;
	const char *as;
	enum hrole role;
	bool console;
	bool check;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hearth [options]\n"
		"\n"
		"Hearth is a peer self-help companion for support groups on Matrix and IRC.\n"
		"With no config file it starts a local console chat.\n"
		"\n"
		"  --config FILE          read configuration from FILE (INI)\n"
		"  --data-dir DIR         where the database and keys live (overrides the config)\n"
		"  --console              start the console chat even when networks are configured\n"
		"  --as NAME              your name in the console chat (default: you)\n"
		"  --role member|moderator  your role in the console chat (default: member)\n"
		"  --check-config         check the configuration and content, print every problem\n"
		"                         as FILE:LINE: message, exit 1 on error\n"
		"  --example-config       print a documented example configuration\n"
		"  --version              print the version\n"
		"  --help                 this text\n"
		"\n"
		"  hearth store copy --from sqlite:PATH --to postgresql://...\n"
		"                         copy a stopped Hearth's SQLite store into PostgreSQL\n");
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Content, found at run time so that a binary works wherever it is: the config's content_dir,
 * else $HEARTH_CONTENT_DIR, else next to the binary (../content: a build folder inside the
 * checkout; ../share/hearth/content: an installed prefix), else the system's installed copy.
 * Nothing from the build machine's source tree is compiled in. */
static int find_content_dir(struct config *cfg)
{
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	const char *env = getenv("HEARTH_CONTENT_DIR");
	ssize_t n;

	if (cfg->content_dir)
		return HE_OK;
	if (env && *env)
		return (cfg->content_dir = strdup(env)) ? HE_OK : HE_NOMEM;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%s/../content", exe);
			if (is_dir(cand))
				return (cfg->content_dir = realpath(cand, NULL)) ? HE_OK : HE_NOMEM;
			snprintf(cand, sizeof(cand), "%s/../share/hearth/content", exe);
			if (is_dir(cand))
				return (cfg->content_dir = realpath(cand, NULL)) ? HE_OK : HE_NOMEM;
		}
	}
	return (cfg->content_dir = strdup("/usr/share/hearth/content")) ? HE_OK : HE_NOMEM;
}

/* A config file that holds a password or token must be for Hearth's user alone. A warning, not
 * an error: the facilitator may have reasons, but should know. */
static void warn_open_secrets(const struct config *cfg, const char *path)
{
	struct stat st;

	if (!path || !cfg->secret_line || stat(path, &st) < 0 || !(st.st_mode & (S_IRGRP | S_IROTH)))
		return;
	fprintf(stderr, "%s:%d: warning: this file holds a password or token and other users on this "
		"machine can read it (mode %03o); run: chmod 600 %s\n", path, cfg->secret_line,
		(unsigned)(st.st_mode & 0777), path);
}

/* Nothing Hearth writes is for other users, and a crash must not leave members' data in a core
 * file or let another process of the same user read Hearth's memory. */
static void harden_process(void)
{
	struct rlimit none = { 0, 0 };

	umask(077);
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		perror("hearth: setrlimit(RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		perror("hearth: prctl(PR_SET_DUMPABLE)");
}

/* Reads and validates the configuration. Problems are printed as FILE:LINE: message. */
static int load_config(const struct options *o, struct config **out, bool quiet_ok)
{
	struct config_problems probs = { 0 };
	struct config *cfg = NULL;
	struct content *content = NULL;
	char err[512];
	int rc;

	rc = config_load(o->config, &cfg, &probs);
	if (rc == HE_IO) {
		fprintf(stderr, "%s:0: cannot read the configuration file\n", o->config);
		return EXIT_CONFIG;
	}
	if (rc)
		return EXIT_CONFIG;
	warn_open_secrets(cfg, o->config);
	if (o->data_dir) {
		free(cfg->data_dir);
		cfg->data_dir = strdup(o->data_dir);
	}
	if ((rc = config_finish(cfg, &probs)) || (rc = find_content_dir(cfg))) {
		config_free(cfg);
		return EXIT_CONFIG;
	}
	if (!cron_tz_valid(cfg->timezone))
		config_problem(&probs, 0, "[bot] timezone \"%s\" is not a known time zone (e.g. Europe/Berlin)",
			       cfg->timezone);
	/* Content is part of the configuration a facilitator edits: check it too. */
	if (content_load(cfg->content_dir, cfg->language, &content, err, sizeof(err)) != HE_OK) {
		fprintf(stderr, "%s\n", err);
		rc = EXIT_CONFIG;
	} else if (crisis_country_resolve(content, &cfg->crisis_country, err, sizeof(err)) != HE_OK) {
		config_problem(&probs, cfg->crisis_country_line, "%s", err);
	}
	content_free(content);
	if (probs.n) {
		config_print_problems(cfg, o->config, &probs, stderr);
		rc = EXIT_CONFIG;
	}
	if (rc) {
		config_free(cfg);
		return rc;
	}
	if (!quiet_ok && o->check)
		printf("%s: ok\n", o->config ? o->config : "(no config file: console defaults)");
	*out = cfg;
	return 0;
}

struct runtime {
	struct happ *app;
	const struct options *opts;
};

static void on_signal(struct loop *l, int signo, void *ud)
{
	struct runtime *rt = ud;
	struct happ *app = rt->app;

	if (signo == SIGHUP) {
		struct config *fresh = NULL;
		hlog_info("main", "SIGHUP: reloading configuration and content");
		if (load_config(rt->opts, &fresh, true) != 0) {
			hlog_error("main", "the new configuration has problems (listed above); keeping the old one");
			return;
		}
		config_apply_reload(app->cfg, fresh);
		config_free(fresh);
		happ_reload(app);
		for (size_t i = 0; i < app->ntransports; i++)
			if (app->transports[i]->ops->reload)
				app->transports[i]->ops->reload(app->transports[i]);
		return;
	}
	hlog_info("main", "%s: shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
	loop_stop(l);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "console", no_argument, NULL, 'C' },
		{ "as", required_argument, NULL, 'a' },
		{ "role", required_argument, NULL, 'r' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "example-config", no_argument, NULL, 'e' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->as = "you";
	while ((ch = getopt_long(argc, argv, "c:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'd': o->data_dir = optarg; break;
		case 'C': o->console = true; break;
		case 'a':
			if (!*optarg || strlen(optarg) > 64 || strpbrk(optarg, " \t\n")) {
				fprintf(stderr, "hearth: --as takes a name of 1 to 64 characters without spaces\n");
				return EXIT_USAGE;
			}
			o->as = optarg;
			break;
		case 'r':
			if (strcmp(optarg, "member") == 0)
				o->role = HROLE_MEMBER;
			else if (strcmp(optarg, "moderator") == 0)
				o->role = HROLE_MODERATOR;
			else {
				fprintf(stderr, "hearth: --role is member or moderator, not \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'k': o->check = true; break;
		case 'e': config_write_example(stdout); exit(0);
		case 'V': printf("hearth %s\n", HEARTH_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hearth: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct happ app = { 0 };
	struct runtime rt = { &app, &o };
	const char *fake;
	int rc;

	harden_process();
	/* libsodium is the one source of random numbers (randombytes_*) in Hearth. */
	if (sodium_init() < 0) {
		fprintf(stderr, "hearth: cannot initialise libsodium\n");
		return EXIT_FAILURE;
	}
	if (argc >= 3 && strcmp(argv[1], "store") == 0 && strcmp(argv[2], "copy") == 0)
		return store_copy_main(argc - 2, argv + 2);
	if ((rc = parse_args(argc, argv, &o)))
		return rc;
	if ((rc = load_config(&o, &app.cfg, false)))
		return rc;
	if (o.check) {
		config_free(app.cfg);
		return 0;
	}
	hlog_set_level(app.cfg->log_level);
	fake = getenv("HEARTH_FAKE_NOW");
	if (fake && *fake)
		app.fake_now = (time_t)strtoll(fake, NULL, 10);

	rc = EXIT_CONFIG;
	if (loop_new(&app.loop) || loop_watch_signals(app.loop, on_signal, &rt)) {
		hlog_error("main", "cannot set up the event loop");
		goto out;
	}
	if (store_open_url(app.cfg->data_dir, app.cfg->store_url, &app.store))
		goto out;
	if (care_init(&app) || care_load_content(&app))
		goto out;
	if (app.cfg->console || o.console) {
		if (console_start(&app, o.as, o.role)) {
			hlog_error("main", "cannot start the console chat");
			goto out;
		}
	}
	if (app.cfg->matrix_enabled && matrix_start(&app)) {
		hlog_error("main", "cannot start the Matrix connection");
		goto out;
	}
	if (app.cfg->nirc && irc_start(&app)) {
		hlog_error("main", "cannot start the IRC networks");
		goto out;
	}
	if (app.ntransports == 0) {
		hlog_error("main", "nothing to do: no network could be started; check the [matrix] and [irc.*] sections");
		goto out;
	}
	rc = loop_stopped(app.loop) ? 0 : loop_run(app.loop) ? EXIT_CONFIG : 0;
	if (app.exit_code)
		rc = app.exit_code;
out:
	for (size_t i = 0; i < app.ntransports; i++)
		if (app.transports[i]->ops->shutdown)
			app.transports[i]->ops->shutdown(app.transports[i]);
	for (size_t i = app.ntransports; i-- > 0;)
		app.transports[i]->ops->free(app.transports[i]);
	care_free(&app);
	content_free(app.content);
	store_free(app.store);
	loop_free(app.loop);
	config_free(app.cfg);
	return rc;
}
