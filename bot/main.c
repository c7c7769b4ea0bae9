/* main.c - command line, start-up and shutdown of Hearth. */
#include "care/care.h"
#include "cli/store_copy.h"
#include "care/content.h"
#include "care/crisis.h"
#include "care/cron.h"
#include "care/datareq.h"
#include "core/backup.h"
#include "core/admin.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/standby.h"
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
	const char *network;       /* admin member: which network's member */
	const char *out_dir;       /* admin member export: where the files go */
	bool console;
	bool check;
	bool healthcheck;
	char **cmd;                /* a subcommand and its arguments (backup, restore, admin) */
	int ncmd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hearth [options]\n"
		"       hearth [--config FILE] backup FILE\n"
		"       hearth [--config FILE] restore FILE\n"
		"       hearth [--config FILE] admin member export ID [--network NET] [--out DIR]\n"
		"       hearth [--config FILE] admin member forget ID [--network NET]\n"
		"\n"
		"Hearth is a peer self-help companion for support groups on Matrix and IRC.\n"
		"With no config file it starts a local console chat.\n"
		"\n"
		"  --config FILE          read configuration from FILE (INI)\n"
		"  --data-dir DIR         where the database and keys live (overrides the config)\n"
		"  --console              start the console chat even when networks are configured\n"
		"  --as NAME              your name in the console chat (default: you)\n"
		"  --role member|moderator  your role in the console chat (default: member)\n"
		"  --network NET          admin member: the member's network (matrix, irc.NAME,\n"
		"                         console), needed when Hearth knows the ID on several\n"
		"  --out DIR              admin member export: write the files there (default: .)\n"
		"  --check-config         check the configuration and content, print every problem\n"
		"                         as FILE:LINE: message, exit 1 on error\n"
		"  --example-config       print a documented example configuration\n"
		"  --man-config           print the manual page hearth.ini(5) (roff)\n"
		"  --healthcheck          ask the running Hearth's /healthz ([admin] listen); exit 0\n"
		"                         when healthy, 1 when not (for a container HEALTHCHECK)\n"
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

/* Reads and validates the configuration and the content it points to. Every problem found is
 * printed as FILE:LINE: message, the config file's first, each file's in line order. */
static int load_config(const struct options *o, struct config **out, bool quiet_ok)
{
	struct config_problems probs = { 0 };
	struct config *cfg = NULL;
	struct content *content = NULL;
	char err[512], langs[256];
	bool lang_ok = false;
	int rc, n;

	rc = config_load(o->config, &cfg, &probs);
	if (rc == HE_IO) {
		fprintf(stderr, "%s:0: cannot read the configuration file\n", o->config);
		config_problems_clear(&probs);
		return EXIT_CONFIG;
	}
	if (rc) {
		config_problems_clear(&probs);
		return EXIT_CONFIG;
	}
	warn_open_secrets(cfg, o->config);
	if (o->data_dir) {
		free(cfg->data_dir);
		cfg->data_dir = strdup(o->data_dir);
	}
	if ((rc = config_finish(cfg, &probs)) || (rc = find_content_dir(cfg))) {
		config_problems_clear(&probs);
		config_free(cfg);
		return EXIT_CONFIG;
	}
	rc = 0;
	if (cfg->admin_listen && *cfg->admin_listen &&
	    admin_check_listen(cfg->admin_listen, cfg->admin_allow_remote, err, sizeof(err)))
		config_problem(&probs, cfg->admin_line, "%s", err);
	if (!cron_tz_valid(cfg->timezone))
		config_problem(&probs, config_line(cfg, "bot", "timezone"),
			       "[bot] timezone \"%s\" is not a known time zone (e.g. Europe/Berlin)", cfg->timezone);
	/* Content is part of the configuration a facilitator edits: check all of it too. */
	n = content_languages(cfg->content_dir, langs, sizeof(langs), cfg->language, &lang_ok);
	if (n >= 0 && !lang_ok)
		config_problem(&probs, config_line(cfg, "bot", "language"),
			       "[bot] language \"%s\" has no content in %s (no crisis/patterns-%s.txt); %s%s",
			       cfg->language, cfg->content_dir, cfg->language,
			       n ? "languages with content: " : "no language has content there",
			       n ? langs : "");
	if (content_check(cfg->content_dir, cfg->language, &content, &probs) < 0)
		rc = EXIT_CONFIG;
	else if (content && crisis_country_resolve(content, &cfg->crisis_country, err, sizeof(err)) != HE_OK)
		config_problem(&probs, cfg->crisis_country_line, "%s", err);
	if (probs.n || probs.dropped) {
		config_print_problems(cfg, o->config, &probs, stderr);
		rc = EXIT_CONFIG;
	} else if (content && o->check) {
		/* What a language lacks is said in English until translated: warnings, after the
		 * problems are fixed. */
		content_report_missing(content, stderr);
	}
	content_free(content);
	config_problems_clear(&probs);
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
		notify_reloading();
		if (load_config(rt->opts, &fresh, true) != 0) {
			hlog_error("main", "the new configuration has problems (listed above); keeping the old one");
			notify_ready();
			return;
		}
		config_apply_reload(app->cfg, fresh);
		config_free(fresh);
		happ_reload(app);
		for (size_t i = 0; i < app->ntransports; i++)
			if (app->transports[i]->ops->reload)
				app->transports[i]->ops->reload(app->transports[i]);
		notify_ready();
		return;
	}
	hlog_info("main", "%s: shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
	notify_stopping();
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
		{ "network", required_argument, NULL, 'n' },
		{ "healthcheck", no_argument, NULL, 'H' },
		{ "out", required_argument, NULL, 'o' },
		{ "example-config", no_argument, NULL, 'e' },
		{ "man-config", no_argument, NULL, 'M' },
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
		case 'n': o->network = optarg; break;
		case 'H': o->healthcheck = true; break;
		case 'o': o->out_dir = optarg; break;
		case 'e': config_write_example(stdout); exit(0);
		case 'M': config_write_man(stdout); exit(0);
		case 'V': printf("hearth %s\n", HEARTH_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	o->cmd = argv + optind;
	o->ncmd = argc - optind;
	if (o->ncmd == 0)
		return 0;
	if (((!strcmp(o->cmd[0], "backup") || !strcmp(o->cmd[0], "restore")) && o->ncmd == 2) ||
	    (!strcmp(o->cmd[0], "admin") && o->ncmd == 4 && !strcmp(o->cmd[1], "member") &&
	     (!strcmp(o->cmd[2], "export") || !strcmp(o->cmd[2], "forget"))))
		return 0;
	fprintf(stderr, "hearth: unexpected argument \"%s\"\n", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}

/* `hearth admin member export|forget ID`: the member's own export or forget, for an operator.
 * It opens the database file without the store's lock, so it works while Hearth runs (SQLite
 * serialises the writes); it touches only the member's rows. */
static int admin_member(const struct options *o, struct happ *app)
{
	const char *what = o->cmd[2], *member = o->cmd[3];
	char path[4096], err[512] = "", nets[DATAREQ_MAX_NETS][64], files[2][4096];
	const char *net = o->network;
	size_t n = 0;
	int rc = EXIT_CONFIG;

	snprintf(path, sizeof(path), "%s/hearth.db", app->cfg->data_dir);
	if (app->cfg->store_url && *app->cfg->store_url) {
		if (store_open_url_shared(app->cfg->store_url, &app->store) || care_init(app))
			goto out;
	} else if (access(path, F_OK) != 0) {
		fprintf(stderr, "hearth: there is no store at %s (check data_dir or --data-dir)\n", path);
		return EXIT_CONFIG;
	} else if (store_open_file(path, &app->store) || care_init(app)) {
		goto out;
	}
	if (datareq_networks(app, member, nets, DATAREQ_MAX_NETS, &n))
		goto out;
	if (!net) {
		if (n == 0) {
			printf("Hearth holds nothing about %s.\n", member);
			rc = 0;
			goto out;
		}
		if (n > 1) {
			fprintf(stderr, "hearth: %s is known on several networks; choose one with --network:", member);
			for (size_t i = 0; i < n; i++)
				fprintf(stderr, " %s", nets[i]);
			fprintf(stderr, "\n");
			rc = EXIT_USAGE;
			goto out;
		}
		net = nets[0];
	}
	if (!strcmp(what, "export")) {
		rc = datareq_export(app, net, member, o->out_dir ? o->out_dir : ".", files, err, sizeof(err));
		if (rc == HE_OK)
			printf("%s\n%s\n", files[0], files[1]);
	} else {
		rc = datareq_forget(app, net, member, err, sizeof(err));
		if (rc == HE_OK)
			printf("Everything Hearth held about %s on %s is deleted.\n", member, net);
	}
	if (rc)
		fprintf(stderr, "hearth: %s\n", err);
	rc = rc ? EXIT_CONFIG : 0;
out:
	care_free(app);
	store_free(app->store);
	app->store = NULL;
	return rc;
}

static int run_subcommand(const struct options *o, struct happ *app)
{
	char err[600] = "";
	int rc;

	if (!strcmp(o->cmd[0], "admin"))
		return admin_member(o, app);
	if (app->cfg->store_url && *app->cfg->store_url) {
		fprintf(stderr, "hearth: this Hearth's store is in PostgreSQL: back it up (and restore it) "
			"with pg_dump and pg_restore, and keep a copy of the key files in %s; `hearth %s` "
			"handles the SQLite store only\n", app->cfg->data_dir, o->cmd[0]);
		return EXIT_CONFIG;
	}
	if (!strcmp(o->cmd[0], "backup")) {
		rc = backup_write(app->cfg->data_dir, app->cfg->mood_key_file, o->cmd[1], err, sizeof(err));
		if (rc == HE_OK)
			printf("%s: backup of %s written (mode 0600; it holds the keys, keep it safe)\n",
			       o->cmd[1], app->cfg->data_dir);
	} else {
		rc = backup_restore(o->cmd[1], app->cfg->data_dir, app->cfg->mood_key_file, err, sizeof(err));
		if (rc == HE_OK)
			printf("%s: restored into %s\n", o->cmd[1], app->cfg->data_dir);
	}
	if (rc)
		fprintf(stderr, "hearth: %s\n", err);
	return rc ? EXIT_CONFIG : 0;
}

static int start_matrix(struct happ *app, size_t idx)
{
	return matrix_start(app);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct happ app = { 0 };
	struct runtime rt = { &app, &o };
	struct admin *admin = NULL;
	struct standby *sb = NULL;
	char holder[160] = "";
	bool reexec = false;
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
	if (o.healthcheck) {
		if (!app.cfg->admin_listen || !*app.cfg->admin_listen) {
			fprintf(stderr, "hearth: --healthcheck needs [admin] listen in the configuration\n");
			rc = EXIT_CONFIG;
		} else {
			rc = admin_healthcheck_client(app.cfg->admin_listen, 5000);
		}
		config_free(app.cfg);
		return rc;
	}
	hlog_set_level(app.cfg->log_level);
	hlog_set_format(app.cfg->log_format);
	fake = getenv("HEARTH_FAKE_NOW");
	if (fake && *fake)
		app.fake_now = (time_t)strtoll(fake, NULL, 10);
	if (o.ncmd) {
		rc = run_subcommand(&o, &app);
		config_free(app.cfg);
		return rc;
	}

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
	/* Each network section starts once this process holds its lease (core/standby.h). */
	if (standby_new(&app, &sb)) {
		hlog_error("main", "cannot prepare the network leases in the store");
		goto out;
	}
	if (app.cfg->matrix_enabled && standby_add(sb, "matrix", start_matrix, 0))
		goto out;
	for (size_t i = 0; i < app.cfg->nirc; i++) {
		char section[80];
		snprintf(section, sizeof(section), "irc.%s", app.cfg->irc[i].name);
		if (standby_add(sb, section, irc_start_net, i))
			goto out;
	}
	if (standby_start(sb)) {
		hlog_error("main", "cannot arm the lease timer");
		goto out;
	}
	if (app.ntransports == 0 && standby_count(sb) == 0) {
		hlog_error("main", "nothing to do: no network could be started; check the [matrix] and [irc.*] sections");
		goto out;
	}
	if (app.cfg->admin_listen && *app.cfg->admin_listen && admin_start(&app, &admin))
		goto out;
	if (notify_watchdog_start(&app)) {
		hlog_error("main", "cannot arm the watchdog tick");
		goto out;
	}
	notify_ready();
	rc = loop_stopped(app.loop) ? 0 : loop_run(app.loop) ? EXIT_CONFIG : 0;
	if (app.exit_code)
		rc = app.exit_code;
	notify_stopping();
out:
	notify_watchdog_stop(&app);
	admin_free(admin);
	/* A lost lease: nothing queued goes out (another Hearth is active now). */
	reexec = standby_wants_reexec(sb);
	for (size_t i = 0; i < app.ntransports && !reexec; i++)
		if (app.transports[i]->ops->shutdown)
			app.transports[i]->ops->shutdown(app.transports[i]);
	for (size_t i = app.ntransports; i-- > 0;)
		app.transports[i]->ops->free(app.transports[i]);
	if (sb)
		snprintf(holder, sizeof(holder), "%s", standby_holder(sb));
	standby_free(sb);
	care_free(&app);
	content_free(app.content);
	store_free(app.store);
	loop_free(app.loop);
	config_free(app.cfg);
	if (reexec) {
		standby_reexec(holder, argv);
		rc = 1;
	}
	return rc;
}
