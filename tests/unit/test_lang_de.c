/* Unit tests for issue 11 part 3: the last English in German rooms. A German member's
 * `!mood history` dates, the chart's description and text fallback, and a moderator's schedule
 * errors come from the phrases ([date], [chart], [schedule] in content/de/phrases.ini), never
 * from English in the code nor the process locale; an English room keeps its English. */
#include "pngmem.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "care/content.h"
#include "care/cron.h"
#include "core/buf.h"
#include "care/mod_room.h"
#include "care/mood.h"
#include "care/phrase.h"
#include "care/rooms.h"
#include "care/sched.h"
#include "core/err.h"
#include "core/log.h"
#include "testapp.h"

static char alt[1024];
static int images;

static int image_cb(struct htransport *t, const struct hmsg *in, const struct himage *img)
{
	(void)t;
	(void)in;
	images++;
	snprintf(alt, sizeof(alt), "%s", img->alt);
	return HE_OK;
}

static struct htransport_ops with_images, text_only;

static size_t dm(struct testapp *ta, const char *who, const char *text)
{
	char room[96];

	snprintf(room, sizeof(room), "dm:%s", who);
	return ta_say(ta, who, room, true, HROLE_MEMBER, text);
}

static int setup(void **state)
{
	struct testapp *ta;

	hlog_set_level(HLOG_ERROR);
	ta = ta_new(":memory:");
	assert_non_null(ta);
	ta->app.fake_now = 1773576000; /* Sunday 2026-03-15 12:00 UTC */
	with_images = text_only = *ta->t.ops;
	with_images.send_image = image_cb;
	images = 0;
	alt[0] = '\0';
	*state = ta;
	return 0;
}

static int teardown(void **state)
{
	ta_free(*state);
	return 0;
}

/* Entries on Friday 13, Saturday 14 and Sunday 15 March. */
static void log_three(struct testapp *ta, const char *who)
{
	dm(ta, who, "!mood optin");
	dm(ta, who, "!mood optin confirm");
	ta->app.fake_now -= 2 * 86400;
	dm(ta, who, "!mood 4 #tired");
	ta->app.fake_now += 86400;
	dm(ta, who, "!mood 8 #calm #tired");
	ta->app.fake_now += 86400;
	dm(ta, who, "!mood 6");
}

static void test_history_dates_in_german(void **state)
{
	struct testapp *ta = *state;
	const char *out;

	dm(ta, "@anna:hs", "!lang de");
	log_three(ta, "@anna:hs");
	ta_clear(ta);
	assert_int_equal(dm(ta, "@anna:hs", "!mood history"), 1);
	out = ta_last(ta);
	assert_non_null(strstr(out, "Tag          Schn. Einträge"));
	assert_non_null(strstr(out, "Fr 13. Mär"));
	assert_non_null(strstr(out, "Sa 14. Mär"));
	assert_non_null(strstr(out, "So 15. Mär 12:00"));
	assert_null(strstr(out, "Mar"));
	assert_null(strstr(out, "Sun"));
	assert_null(strstr(out, "Avg"));

	/* an English member keeps the English dates */
	log_three(ta, "@ben:hs");
	ta_clear(ta);
	dm(ta, "@ben:hs", "!mood history");
	out = ta_last(ta);
	assert_non_null(strstr(out, "Day          Avg  Entries"));
	assert_non_null(strstr(out, "Sun 15 Mar 12:00"));
	assert_null(strstr(out, "Mär"));
}

static void test_chart_description_in_german(void **state)
{
	struct testapp *ta = *state;

	ta->t.ops = &with_images;
	dm(ta, "@anna:hs", "!lang de");
	log_three(ta, "@anna:hs");
	ta_clear(ta);
	assert_int_equal(dm(ta, "@anna:hs", "!mood chart"), 1);
	assert_int_equal(images, 1);
	assert_non_null(strstr(alt, "Stimmungsdiagramm, 14. Feb bis 15. Mär (Skala 1 bis 10): "));
	assert_non_null(strstr(alt, "3 Einträge, Durchschnitt 6.0, niedrigster Wert 4, höchster Wert 8."));
	assert_non_null(strstr(alt, "Am häufigsten verwendete Wörter: tired, calm."));
	assert_null(strstr(alt, "entries"));
	assert_null(strstr(alt, "Mar"));
	dm(ta, "@anna:hs", "!mood chart 1");
	assert_non_null(strstr(alt, "1 Eintrag, Durchschnitt 6.0"));

	/* the English member's description is unchanged */
	log_three(ta, "@ben:hs");
	dm(ta, "@ben:hs", "!mood chart");
	assert_non_null(strstr(alt, "Mood chart, 14 Feb to 15 Mar (scale 1 to 10): 3 entries"));
}

static void test_chart_text_fallback_in_german(void **state)
{
	struct testapp *ta = *state;
	const char *out;

	ta->t.ops = &text_only;
	dm(ta, "anna", "!lang de");
	log_three(ta, "anna");
	dm(ta, "anna", "!mood chart 7");
	out = ta_last(ta);
	assert_int_equal(images, 0);
	assert_non_null(strstr(out, "**Deine Stimmung, letzte 7 Tage**"));
	assert_non_null(strstr(out, "····▃▆▅` ein Zeichen pro Tag"));
	assert_non_null(strstr(out, "Diagramme als Bild gibt es auf Matrix"));
	assert_non_null(strstr(out, "Stimmungsdiagramm, 9. Mär bis 15. Mär"));
	assert_null(strstr(out, "shown on Matrix"));
	assert_null(strstr(out, "Your mood"));
}

static void test_sched_errors_in_german(void **state)
{
	struct testapp *ta = *state;
	char err[512], question[SCHED_TEXT_MAX + 2];
	long long id = 0;

	assert_int_equal(rooms_set_text(&ta->app, "test", "!de", "language", "de"), HE_OK);
	assert_int_equal(sched_add(&ta->app, "test", "!de", "0 25 * * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "Diesen Zeitplan konnte ich nicht lesen: "));
	assert_non_null(strstr(err, "fünf Felder"));
	assert_int_equal(sched_add(&ta->app, "test", "!de", "0 9 * * *", "Mars/Olympus", &id, err, sizeof(err)),
			 HE_INVAL);
	assert_non_null(strstr(err, "Die Zeitzone \"Mars/Olympus\" kenne ich nicht."));
	assert_int_equal(sched_add(&ta->app, "test", "!de", "* 9 * * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "mehr als einmal pro Stunde"));
	assert_non_null(strstr(err, "Ein `*` im Minutenfeld heißt jede Minute"));
	memset(question, 'x', sizeof(question) - 1);
	question[sizeof(question) - 1] = '\0';
	assert_int_equal(sched_add_with(&ta->app, "test", "!de", "0 9 * * *", "UTC", question, NULL, &id, err,
					sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "Diese Frage ist zu lang"));
	assert_int_equal(id, 0);
	/* the same errors stay English in an English room */
	assert_int_equal(sched_add(&ta->app, "test", "!en", "0 25 * * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "I couldn't read that schedule"));
	assert_int_equal(sched_add(&ta->app, "test", "!en", "* 9 * * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "more than once an hour"));
	assert_non_null(strstr(err, "every minute"));
}

/* English words of the cron parser's messages (care/cron.c) that must not reach a German room. */
static const char *const cron_english[] = { "must be", "got ", "expected", "day-of-", "never fires",
					     "schedule is", "shortcut", "step", "backwards", "unexpected",
					     "hour must", "minute must", "empty item", "value", "quiet hours", "times must",
					     "choose", "write them", "instead", NULL };

static void assert_no_english(const char *text, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strstr(text, words[i])) {
			fprintf(stderr, "English \"%s\" in: %s\n", words[i], text);
			fail();
		}
}

/* Issue 11: the cron parser's reason inside a German schedule error is German too, for every
 * kind of mistake; an English room keeps the English reason. */
static void test_cron_reasons_in_german(void **state)
{
	struct testapp *ta = *state;
	static const struct {
		const char *cron, *german;
	} cases[] = {
		{ "0 25 * * *", "Stunde: erlaubt ist 0-23, nicht 25" },
		{ "0 9 * * funday", "Wochentag: erlaubt ist 0-7 oder sun-sat, nicht 'funday'" },
		{ "0 9 * 13 *", "Monat: erlaubt ist 1-12 oder jan-dec, nicht 13" },
		{ "0 9 31 2 *", "dieser Zeitplan kommt nie dran" },
		{ "@sometimes", "sometimes' kenne ich nicht; nimm " }, /* '@' is kept from being a mention */
		{ "0 9 * *", "es braucht 5 Felder (Minute Stunde Tag Monat Wochentag), hier sind es 4" },
		{ "*/0 9 * * *", "Minute: Der Schritt muss 1-59 sein, nicht 0" },
		{ "0 9/x * * *", "Stunde: Nach '/' muss eine Zahl kommen" },
		{ "0 9 * * 5-1", "Wochentag: Der Bereich 5-1 läuft rückwärts; schreib stattdessen 5-6,0-1" },
		{ "0 9,,10 * * *", "im Feld Stunde ist ein Eintrag der Liste leer" },
		{ "0 9- * * *", "im Feld Stunde fehlt am Ende ein Wert" },
		{ "0 9 * * 1#2", "'#' passt nicht ins Feld Wochentag" },
		{ "0 9 * * -1", "'-' passt nicht ins Feld Wochentag, da gehört ein Wert hin" },
	};
	char err[512];
	long long id = 0;

	assert_int_equal(rooms_set_text(&ta->app, "test", "!de", "language", "de"), HE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sched_add(&ta->app, "test", "!de", cases[i].cron, "UTC", &id, err, sizeof(err)),
				 HE_INVAL);
		if (!strstr(err, cases[i].german)) {
			fprintf(stderr, "%s: %s\n", cases[i].cron, err);
			fail();
		}
		assert_non_null(strstr(err, "Diesen Zeitplan konnte ich nicht lesen: "));
		assert_no_english(err, cron_english);
	}
	{
		char longcron[300];
		memset(longcron, '1', sizeof(longcron) - 1);
		longcron[sizeof(longcron) - 1] = '\0';
		assert_int_equal(sched_add(&ta->app, "test", "!de", longcron, "UTC", &id, err, sizeof(err)), HE_INVAL);
		assert_non_null(strstr(err, "der Zeitplan ist länger als 256 Zeichen"));
		assert_no_english(err, cron_english);
	}
	/* through the chat, as a moderator types it */
	ta_say(ta, "@mod:hs", "!de", false, HROLE_MODERATOR, "!mod checkin add \"0 25 * * *\"");
	assert_non_null(strstr(ta_last(ta), "Stunde: erlaubt ist 0-23, nicht 25"));
	assert_no_english(ta_last(ta), cron_english);
	/* an English room keeps the English reason */
	assert_int_equal(sched_add(&ta->app, "test", "!en", "0 25 * * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "hour must be 0-23, got 25"));
	assert_int_equal(id, 0);
}

/* `!mod quiet` with a mistake in a German room: the reason in German. */
static void test_quiet_reasons_in_german(void **state)
{
	struct testapp *ta = *state;
	static const struct {
		const char *cmd, *german;
	} cases[] = {
		{ "!mod quiet 25:00-07:00", "die Stunde muss 0-23 sein, nicht 25" },
		{ "!mod quiet 24:00-07:00", "nicht 24 (schreib 00:00)" },
		{ "!mod quiet 22:75-07:00", "die Minute muss 0-59 sein, nicht 75" },
		{ "!mod quiet 22h-07:00", "Zeiten schreibst du wie 07:30, nicht '22h'" },
		{ "!mod quiet 22:00-07:00-08:00", "Ruhezeiten schreibst du wie 22:00-07:00" },
		{ "!mod quiet 22:00-22:00", "beginnen und enden zur selben Zeit (22:00)" },
	};

	assert_int_equal(rooms_set_text(&ta->app, "test", "!de", "language", "de"), HE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ta_say(ta, "@mod:hs", "!de", false, HROLE_MODERATOR, cases[i].cmd);
		if (!strstr(ta_last(ta), cases[i].german)) {
			fprintf(stderr, "%s: %s\n", cases[i].cmd, ta_last(ta));
			fail();
		}
		assert_no_english(ta_last(ta), cron_english);
	}
	ta_say(ta, "@mod:hs", "!en", false, HROLE_MODERATOR, "!mod quiet 25:00-07:00");
	assert_non_null(strstr(ta_last(ta), "hour must be 0-23, got 25"));
}

static const char *bad_slots(void *ud, const char *key)
{
	(void)ud;
	return !strcmp(key, "range") ? "%s %s %s %s" : !strcmp(key, "field_hour") ? "%d" : "KAPUTT";
}

/* A cron text whose slots are not the English one's is never used as a format (it would read
 * the wrong arguments); a well-formed one is. */
static void test_cron_words_slots_checked(void **state)
{
	struct cron_words w = { bad_slots, NULL };
	struct cron_expr *e = NULL;
	char err[200];

	(void)state;
	assert_int_equal(cron_parse_words("0 25 * * *", &e, err, sizeof(err), &w), HE_INVAL);
	assert_null(e);
	assert_string_equal(err, "hour must be 0-23, got 25");
	assert_int_equal(cron_parse_words("0 9 * *", &e, err, sizeof(err), &w), HE_INVAL);
	assert_string_equal(err, "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
	assert_int_equal(cron_parse_words("", &e, err, sizeof(err), &w), HE_INVAL);
	assert_string_equal(err, "KAPUTT");
}

/* The CSV export is for a person: German column names and words for a German member; the JSON
 * keeps its English keys; an English member's CSV is unchanged. */
static void test_export_csv_in_german(void **state)
{
	struct testapp *ta = *state;
	static const char head_de[] = "Zeit (UTC),Wert,Notiz,Stichwörter,Eingetragen in\r\n";
	static const char head_en[] = "time_utc,score,note,tags,logged_in\r\n";
	struct hbuf csv = HBUF_INIT;
	char *json = NULL;
	long n = 0;

	dm(ta, "anna", "!lang de");
	log_three(ta, "anna");
	assert_int_equal(mood_export_build(&ta->app, "test", "anna", "de", &csv, &json, &n), HE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(strncmp(hbuf_str(&csv), head_de, strlen(head_de)), 0);
	assert_non_null(strstr(hbuf_str(&csv), ",\"privat\"\r\n"));
	assert_null(strstr(hbuf_str(&csv), "private"));
	assert_null(strstr(hbuf_str(&csv), "time_utc"));
	assert_non_null(strstr(json, "\"score\": 8"));
	assert_non_null(strstr(json, "\"tags\""));
	free(json);
	hbuf_free(&csv);
	json = NULL;
	assert_int_equal(mood_export_build(&ta->app, "test", "anna", "en", &csv, &json, &n), HE_OK);
	assert_int_equal(strncmp(hbuf_str(&csv), head_en, strlen(head_en)), 0);
	assert_non_null(strstr(hbuf_str(&csv), ",\"private\"\r\n"));
	free(json);
	hbuf_free(&csv);
}

/* `!mod set country` with a country without vetted lines in a German room: the list ends in
 * German. */
static void test_country_list_in_german(void **state)
{
	struct testapp *ta = *state;

	assert_int_equal(rooms_set_text(&ta->app, "test", "!de", "language", "de"), HE_OK);
	ta_say(ta, "@mod:hs", "!de", false, HROLE_MODERATOR, "!mod set country narnia");
	assert_non_null(strstr(ta_last(ta), "oder `intl` für das internationale Verzeichnis"));
	assert_null(strstr(ta_last(ta), "international directory"));
	ta_say(ta, "@mod:hs", "!en", false, HROLE_MODERATOR, "!mod set country narnia");
	assert_non_null(strstr(ta_last(ta), "or `intl` for the international directory"));
}

/* `!mod checkin add`, `!mod checkin list` and `!mod status` show next times with German weekdays;
 * `!mod stats` ranges come in German. */
static void test_mod_words_in_german(void **state)
{
	struct testapp *ta = *state;
	const struct content *c = ta->app.content;
	char band[64];

	assert_int_equal(rooms_set_text(&ta->app, "test", "!de", "language", "de"), HE_OK);
	ta_say(ta, "@mod:hs", "!de", false, HROLE_MODERATOR, "!mod checkin add \"0 9 * * *\"");
	assert_non_null(strstr(ta_last(ta), "Mo 2026-03-16 09:00"));
	ta_say(ta, "@mod:hs", "!de", false, HROLE_MODERATOR, "!mod checkin list");
	assert_non_null(strstr(ta_last(ta), "Mo 2026-03-16 09:00"));
	ta_say(ta, "@mod:hs", "!de", false, HROLE_MODERATOR, "!mod status");
	assert_non_null(strstr(ta_last(ta), "Mo 2026-03-16 09:00"));
	assert_null(strstr(ta_last(ta), "Mon 2026"));
	/* an English room keeps "Mon" */
	ta_say(ta, "@mod:hs", "!en", false, HROLE_MODERATOR, "!mod checkin add \"0 9 * * *\"");
	assert_non_null(strstr(ta_last(ta), "Mon 2026-03-16 09:00"));

	mood_stats_band_in(3, phrase(c, "de", "stats.band_fewer"), phrase(c, "de", "stats.band_more"), band,
			   sizeof(band));
	assert_string_equal(band, "weniger als 5");
	mood_stats_band_in(20000, phrase(c, "de", "stats.band_fewer"), phrase(c, "de", "stats.band_more"), band,
			   sizeof(band));
	assert_string_equal(band, "10000 oder mehr");
	mood_stats_band_in(12, phrase(c, "de", "stats.band_fewer"), phrase(c, "de", "stats.band_more"), band,
			   sizeof(band));
	assert_string_equal(band, "10-19");
	mod_format_local(c, "de", "UTC", ta->app.fake_now, band, sizeof(band));
	assert_string_equal(band, "So 2026-03-15 12:00");
	mod_format_local(c, "de", "Nowhere/Atlantis", ta->app.fake_now, band, sizeof(band));
	assert_string_equal(band, "unbekannt");
	mood_stats_band(3, band, sizeof(band));
	assert_string_equal(band, "fewer than 5");
}

static int problems;
static void count_problem(void *ud, const char *file, int line, const char *msg)
{
	(void)ud;
	(void)file;
	(void)line;
	(void)msg;
	problems++;
}

/* A hostile or careless translation cannot change what the date and chart slots receive. */
static void test_translation_slots_checked(void **state)
{
	static const char en[] = "[date]\nday = %s %02d %s\n[chart]\ndesc_range = Mood chart, %d %s to %d %s:\n";
	static const char bad[] = "[date]\nday = %s %s %s\n[chart]\ndesc_range = %d %s %n %d %s\n";
	struct phrasebook *base = NULL, *de = NULL;

	(void)state;
	problems = 0;
	assert_int_equal(phrasebook_parse("en", en, strlen(en), NULL, &base, count_problem, NULL), 0);
	assert_int_equal(phrasebook_parse("de", bad, strlen(bad), base, &de, count_problem, NULL), 2);
	assert_null(phrasebook_get(de, "date.day"));
	assert_null(phrasebook_get(de, "chart.desc_range"));
	phrasebook_free(de);
	phrasebook_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_dates_in_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chart_description_in_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chart_text_fallback_in_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_errors_in_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mod_words_in_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cron_reasons_in_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_reasons_in_german, setup, teardown),
		cmocka_unit_test(test_cron_words_slots_checked),
		cmocka_unit_test_setup_teardown(test_export_csv_in_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_country_list_in_german, setup, teardown),
		cmocka_unit_test(test_translation_slots_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
