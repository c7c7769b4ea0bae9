/* metrics.c - the process-wide metrics registry and its Prometheus text rendering. */
#include "core/metrics.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum mtype { M_COUNTER, M_GAUGE, M_HIST };

enum fam {
	F_COMMANDS, F_REPLIES, F_REPLY_LATENCY, F_OWN_TIME, F_NET_UP, F_SYNC_OK, F_SYNC_ERR,
	F_SYNC_LAG, F_UNDECRYPTABLE, F_KEY_REQ, F_IRC_RECONNECT, F_IRC_SENDQ, F_CRISIS, F_MOOD,
	F_STORE_ERR, F_RSS, NFAMS
};

struct family {
	const char *name;
	enum mtype type;
	const char *help;
};

static const struct family fams[NFAMS] = {
	[F_COMMANDS] = { "hearth_commands_total", M_COUNTER, "Commands handled, by command and network." },
	[F_REPLIES] = { "hearth_replies_total", M_COUNTER, "Replies handed to a network, by network and result (sent, failed)." },
	[F_REPLY_LATENCY] = { "hearth_reply_latency_seconds", M_HIST, "From a message's arrival in the core to each reply handed to its network." },
	[F_OWN_TIME] = { "hearth_own_time_seconds", M_HIST, "Time Hearth itself spends handling one message." },
	[F_NET_UP] = { "hearth_network_up", M_GAUGE, "1 when the network is connected (Matrix: the last /sync answered; IRC: registered)." },
	[F_SYNC_OK] = { "hearth_matrix_syncs_total", M_COUNTER, "Matrix /sync requests answered." },
	[F_SYNC_ERR] = { "hearth_matrix_sync_errors_total", M_COUNTER, "Matrix /sync requests that failed." },
	[F_SYNC_LAG] = { "hearth_matrix_sync_lag_seconds", M_GAUGE, "Seconds since the last answered Matrix /sync (absent before the first)." },
	[F_UNDECRYPTABLE] = { "hearth_e2e_undecryptable_events_total", M_COUNTER, "Encrypted events that could not be decrypted (yet)." },
	[F_KEY_REQ] = { "hearth_e2e_key_requests_total", M_COUNTER, "Room keys requested from other devices." },
	[F_IRC_RECONNECT] = { "hearth_irc_reconnects_total", M_COUNTER, "IRC reconnects scheduled, by network." },
	[F_IRC_SENDQ] = { "hearth_irc_send_queue_depth", M_GAUGE, "Lines waiting in the IRC send queue, by network." },
	[F_CRISIS] = { "hearth_crisis_answers_total", M_COUNTER, "Crisis answers sent (a count only)." },
	[F_MOOD] = { "hearth_mood_log_members", M_GAUGE, "Members with a mood log (consent given)." },
	[F_STORE_ERR] = { "hearth_store_errors_total", M_COUNTER, "Database errors." },
	[F_RSS] = { "hearth_resident_memory_bytes", M_GAUGE, "Resident set size of the process." },
};

/* Buckets (seconds) of both histograms: from a fast local command to a slow homeserver. */
static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	enum fam fam;
	char labels[96];          /* rendered: network="matrix",command="help" */
	double v;
	uint64_t bucket[NBUCKETS];
	uint64_t count;
	double sum;
};

/* Process-wide, as the log level is; single-threaded like the loop. */
static struct series reg[METRICS_MAX_SERIES];
static size_t nreg;
static uint64_t dispatch_start_ns;
static time_t last_sync_ok;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A label value is a configured network or a command name; anything else is "other", so that
 * no id or text can ever become a label (or break the exposition format). */
static const char *safe(const char *v)
{
	size_t n = 0;

	if (!v || !*v)
		return "other";
	for (const char *p = v; *p; p++, n++) {
		char c = *p;
		if (n >= 32 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
				 c == '-'))
			return "other";
	}
	return v;
}

static struct series *find(enum fam f, const char *l1, const char *v1, const char *l2, const char *v2)
{
	char labels[96];

	if (l1 && l2)
		snprintf(labels, sizeof(labels), "%s=\"%s\",%s=\"%s\"", l1, safe(v1), l2, safe(v2));
	else if (l1)
		snprintf(labels, sizeof(labels), "%s=\"%s\"", l1, safe(v1));
	else
		labels[0] = '\0';
	for (size_t i = 0; i < nreg; i++)
		if (reg[i].fam == f && strcmp(reg[i].labels, labels) == 0)
			return &reg[i];
	if (nreg >= METRICS_MAX_SERIES)
		return NULL;
	memset(&reg[nreg], 0, sizeof(reg[nreg]));
	reg[nreg].fam = f;
	memcpy(reg[nreg].labels, labels, sizeof(labels));
	return &reg[nreg++];
}

static void add(enum fam f, const char *l1, const char *v1, const char *l2, const char *v2, double d)
{
	struct series *s = find(f, l1, v1, l2, v2);
	if (s)
		s->v += d;
}

static void set(enum fam f, const char *l1, const char *v1, double v)
{
	struct series *s = find(f, l1, v1, NULL, NULL);
	if (s)
		s->v = v;
}

static void observe(enum fam f, double seconds)
{
	struct series *s = find(f, NULL, NULL, NULL, NULL);

	if (!s)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		if (seconds <= buckets[i])
			s->bucket[i]++;
	s->count++;
	s->sum += seconds;
}

void metrics_command(const char *network, const char *command)
{
	add(F_COMMANDS, "command", command, "network", network, 1);
}

void metrics_reply(const char *network, bool ok)
{
	add(F_REPLIES, "network", network, "result", ok ? "sent" : "failed", 1);
	if (ok && dispatch_start_ns)
		observe(F_REPLY_LATENCY, (double)(now_ns() - dispatch_start_ns) / 1e9);
}

void metrics_dispatch_begin(void)
{
	dispatch_start_ns = now_ns();
}

void metrics_dispatch_end(void)
{
	if (dispatch_start_ns)
		observe(F_OWN_TIME, (double)(now_ns() - dispatch_start_ns) / 1e9);
	dispatch_start_ns = 0;
}

void metrics_net_up(const char *network, bool up)
{
	set(F_NET_UP, "network", network, up ? 1 : 0);
}

bool metrics_net_is_up(const char *network)
{
	char labels[96];

	snprintf(labels, sizeof(labels), "network=\"%s\"", safe(network));
	for (size_t i = 0; i < nreg; i++)
		if (reg[i].fam == F_NET_UP && strcmp(reg[i].labels, labels) == 0)
			return reg[i].v > 0;
	return false;
}

void metrics_matrix_sync(bool ok)
{
	add(ok ? F_SYNC_OK : F_SYNC_ERR, NULL, NULL, NULL, NULL, 1);
	metrics_net_up("matrix", ok);
	if (ok)
		last_sync_ok = time(NULL);
}

void metrics_e2e_undecryptable(void) { add(F_UNDECRYPTABLE, NULL, NULL, NULL, NULL, 1); }
void metrics_e2e_key_request(void) { add(F_KEY_REQ, NULL, NULL, NULL, NULL, 1); }
void metrics_irc_reconnect(const char *network) { add(F_IRC_RECONNECT, "network", network, NULL, NULL, 1); }
void metrics_irc_sendq(const char *network, long depth) { set(F_IRC_SENDQ, "network", network, (double)depth); }
void metrics_crisis_answer(void) { add(F_CRISIS, NULL, NULL, NULL, NULL, 1); }
void metrics_store_error(void) { add(F_STORE_ERR, NULL, NULL, NULL, NULL, 1); }

static long rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

int metrics_render(struct hbuf *b, long mood_members)
{
	long rss = rss_bytes();

	if (last_sync_ok)
		set(F_SYNC_LAG, NULL, NULL, (double)(time(NULL) - last_sync_ok));
	if (mood_members >= 0)
		set(F_MOOD, NULL, NULL, (double)mood_members);
	if (rss >= 0)
		set(F_RSS, NULL, NULL, (double)rss);
	for (int f = 0; f < NFAMS; f++) {
		bool any = false;

		hbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name, fams[f].help, fams[f].name,
			    type_names[fams[f].type]);
		for (size_t i = 0; i < nreg; i++) {
			const struct series *s = &reg[i];
			const char *sep = s->labels[0] ? "," : "";
			if (s->fam != (enum fam)f)
				continue;
			any = true;
			if (fams[f].type != M_HIST) {
				hbuf_printf(b, "%s%s%s%s %.17g\n", fams[f].name, s->labels[0] ? "{" : "",
					    s->labels, s->labels[0] ? "}" : "", s->v);
				continue;
			}
			for (size_t k = 0; k < NBUCKETS; k++)
				hbuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", fams[f].name, s->labels, sep,
					    buckets[k], (unsigned long long)s->bucket[k]);
			hbuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", fams[f].name, s->labels, sep,
				    (unsigned long long)s->count);
			hbuf_printf(b, "%s_sum%s%s%s %.17g\n%s_count%s%s%s %llu\n", fams[f].name,
				    s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "", s->sum,
				    fams[f].name, s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
				    (unsigned long long)s->count);
		}
		/* a family without labels exists from the start: 0 until something happens */
		if (!any && f != F_SYNC_LAG && f != F_MOOD && f != F_NET_UP && f != F_COMMANDS &&
		    f != F_REPLIES && f != F_IRC_RECONNECT && f != F_IRC_SENDQ) {
			if (fams[f].type == M_HIST)
				hbuf_printf(b, "%s_bucket{le=\"+Inf\"} 0\n%s_sum 0\n%s_count 0\n", fams[f].name,
					    fams[f].name, fams[f].name);
			else
				hbuf_printf(b, "%s 0\n", fams[f].name);
		}
	}
	return b->oom ? HE_NOMEM : HE_OK;
}

void metrics_reset(void)
{
	nreg = 0;
	dispatch_start_ns = 0;
	last_sync_ok = 0;
}
