/* test_metrics.c - the metrics registry: labels are only configured network names and command
 * names (anything else, e.g. an id or text, becomes "other" and cannot break the format), the
 * number of series is capped, and the admin endpoint's listen addresses are checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/admin.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/metrics.h"

static char *render(void)
{
	struct hbuf b = HBUF_INIT;
	assert_int_equal(metrics_render(&b, 3), HE_OK);
	return hbuf_steal(&b);
}

static void labels_are_never_ids_or_text(void **state)
{
	char *out;

	metrics_reset();
	metrics_command("matrix", "help");
	metrics_command("matrix", "help");
	metrics_command("irc.Libera-Chat", "mood");
	metrics_command("@alice:example.org", "learn");
	metrics_command("matrix", "x\"} 1\nhearth_fake 1");
	metrics_irc_sendq("!room:example.org", 5);
	metrics_reply("matrix", true);
	metrics_reply("matrix", false);
	out = render();
	assert_non_null(strstr(out, "hearth_commands_total{command=\"help\",network=\"matrix\"} 2\n"));
	assert_non_null(strstr(out, "hearth_commands_total{command=\"mood\",network=\"irc.Libera-Chat\"} 1\n"));
	assert_non_null(strstr(out, "hearth_commands_total{command=\"learn\",network=\"other\"} 1\n"));
	assert_non_null(strstr(out, "hearth_commands_total{command=\"other\",network=\"matrix\"} 1\n"));
	assert_non_null(strstr(out, "hearth_irc_send_queue_depth{network=\"other\"} 5\n"));
	assert_non_null(strstr(out, "hearth_replies_total{network=\"matrix\",result=\"failed\"} 1\n"));
	assert_non_null(strstr(out, "hearth_mood_log_members 3\n"));
	assert_null(strstr(out, "alice"));
	assert_null(strstr(out, "room"));
	assert_null(strstr(out, "hearth_fake"));
	free(out);
}

static void series_are_capped(void **state)
{
	char net[32], *out;

	metrics_reset();
	for (int i = 0; i < METRICS_MAX_SERIES * 3; i++) {
		snprintf(net, sizeof(net), "irc.n%d", i);
		metrics_irc_reconnect(net);
	}
	out = render();
	assert_non_null(strstr(out, "irc.n0\""));
	assert_null(strstr(out, "irc.n300\""));
	free(out);
	metrics_reset();
}

static void health_state_follows_the_network(void **state)
{
	metrics_reset();
	assert_false(metrics_net_is_up("matrix"));
	metrics_matrix_sync(true);
	assert_true(metrics_net_is_up("matrix"));
	metrics_matrix_sync(false);
	assert_false(metrics_net_is_up("matrix"));
	metrics_net_up("irc.x", true);
	assert_true(metrics_net_is_up("irc.x"));
	metrics_reset();
}

static void listen_addresses(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[300];

	assert_int_equal(admin_parse_listen("127.0.0.1:9464", false, &ss, &len, err, sizeof(err)), HE_OK);
	assert_int_equal(admin_parse_listen("127.9.9.9:1", false, &ss, &len, err, sizeof(err)), HE_OK);
	assert_int_equal(admin_parse_listen("[::1]:9464", false, &ss, &len, err, sizeof(err)), HE_OK);
	assert_int_equal(admin_parse_listen("localhost:9464", false, &ss, &len, err, sizeof(err)), HE_OK);
	assert_int_equal(admin_parse_listen("unix:/run/hearth/admin.sock", false, &ss, &len, err, sizeof(err)), HE_OK);
	assert_int_equal(admin_parse_listen("0.0.0.0:9464", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "allow_remote"));
	assert_int_equal(admin_parse_listen("[::]:9464", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("[::ffff:10.0.0.1]:9464", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("[::ffff:127.0.0.1]:9464", false, &ss, &len, err, sizeof(err)), HE_OK);
	assert_int_equal(admin_parse_listen("192.0.2.2:9464", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("192.0.2.2:9464", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_int_equal(admin_parse_listen("127.1:9464", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("127.0.0.1:0", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("127.0.0.1:65536", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("127.0.0.1", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("unix:relative.sock", false, &ss, &len, err, sizeof(err)), HE_INVAL);
	assert_int_equal(admin_parse_listen("", false, &ss, &len, err, sizeof(err)), HE_INVAL);
}

static void peers_from_other_machines_refused(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[300];

	/* the addresses a peer could connect from, parsed as listen addresses with allow_remote */
	assert_int_equal(admin_parse_listen("192.0.2.2:1", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_false(admin_peer_allowed((struct sockaddr *)&ss, false));
	assert_true(admin_peer_allowed((struct sockaddr *)&ss, true));
	assert_int_equal(admin_parse_listen("[fd00::2]:1", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_false(admin_peer_allowed((struct sockaddr *)&ss, false));
	assert_int_equal(admin_parse_listen("[::ffff:192.0.2.2]:1", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_false(admin_peer_allowed((struct sockaddr *)&ss, false));
	assert_int_equal(admin_parse_listen("127.0.0.1:1", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_true(admin_peer_allowed((struct sockaddr *)&ss, false));
	assert_int_equal(admin_parse_listen("[::1]:1", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_true(admin_peer_allowed((struct sockaddr *)&ss, false));
	assert_int_equal(admin_parse_listen("[::ffff:127.0.0.1]:1", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_true(admin_peer_allowed((struct sockaddr *)&ss, false));
	assert_int_equal(admin_parse_listen("unix:/x.sock", true, &ss, &len, err, sizeof(err)), HE_OK);
	assert_true(admin_peer_allowed((struct sockaddr *)&ss, false));
	assert_false(admin_peer_allowed(NULL, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(labels_are_never_ids_or_text),
		cmocka_unit_test(series_are_capped),
		cmocka_unit_test(health_state_follows_the_network),
		cmocka_unit_test(listen_addresses),
		cmocka_unit_test(peers_from_other_machines_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
