/* test_backup.c - a backup made while the store is open and in use, restored into a new data
 * folder, brings back the Matrix encryption state: the same device identity, the outbound
 * Megolm session (reused without sharing again), the inbound sessions and the Olm session (a
 * member's message decrypts after the restore), and the key file e2e.key, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/backup.h"
#include "e2e_router.h"

#define ROOM "!room:example.org"

static char tmpdir[64];

static long rows(struct store *st, const char *table)
{
	char sql[128];
	sqlite3_stmt *s = NULL;
	long n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void put_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
	chmod(path, 0600);
}

static void e2e_state_survives_backup_and_restore(void **state)
{
	struct hs *h = hs_new();
	char da[100], db[100], pa[160], pb[160], file[160], key[160], text[64], err[512], curve[64];
	struct cl *a, *b;
	json_t *enc = NULL, *ev, *plain = NULL;
	long olm_rows, inbound_rows;
	struct stat sb;

	snprintf(da, sizeof(da), "%s/a", tmpdir);
	snprintf(db, sizeof(db), "%s/restored", tmpdir);
	snprintf(pa, sizeof(pa), "%s/hearth.db", da);
	snprintf(file, sizeof(file), "%s/hearth.backup", tmpdir);
	assert_int_equal(mkdir(da, 0700), 0);
	snprintf(key, sizeof(key), "%s/e2e.key", da);
	put_file(key, "0123456789abcdef0123456789abcdef");
	snprintf(key, sizeof(key), "%s/mood.key", da);
	put_file(key, "mood-key-bytes");

	a = hs_add(h, "@hearth:example.org", "HEARTH", pa);
	b = hs_add(h, "@member:example.org", "MDEV", NULL);
	struct cl *all[] = { a, b };
	hs_run(h);
	json_t *def = json_pack("{s:s}", "algorithm", "m.megolm.v1.aes-sha2");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(e2e_room_encryption(all[i]->e, ROOM, def), 0);
		for (int j = 0; j < 2; j++)
			assert_int_equal(e2e_room_member_change(all[i]->e, ROOM, all[j]->user, "join"), 0);
	}
	json_decref(def);
	/* Hearth answers (outbound session shared with the member over a new Olm session) ... */
	assert_int_equal(cl_encrypt(a, ROOM, "hello", &enc), 0);
	cl_sync(b);
	ev = hs_event(a, enc, "$1");
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), 0);
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);
	/* ... and the member writes: Hearth gets the member's room key (inbound session) */
	assert_int_equal(cl_encrypt(b, ROOM, "first", &enc), 0);
	cl_sync(a);
	ev = hs_event(b, enc, "$2");
	plain = NULL;
	assert_int_equal(e2e_decrypt_room_event(a->e, ROOM, ev, &plain), 0);
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);
	snprintf(curve, sizeof(curve), "%s", e2e_curve25519_key(a->e));

	/* the backup, while a's store is open and in use */
	assert_int_equal(backup_write(da, key, file, err, sizeof(err)), HE_OK);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(backup_write(da, key, file, err, sizeof(err)), HE_PERM); /* never over a file */
	olm_rows = rows(a->st, "e2e_olm_session");
	inbound_rows = rows(a->st, "e2e_inbound");
	assert_true(olm_rows > 0);
	assert_true(inbound_rows > 0);
	cl_close(a);

	/* restore into a new folder and start Hearth's device from it */
	snprintf(key, sizeof(key), "%s/mood.key", db);
	assert_int_equal(backup_restore(file, db, key, err, sizeof(err)), HE_OK);
	assert_int_equal(backup_restore(file, db, key, err, sizeof(err)), HE_PERM); /* not empty now */
	snprintf(pb, sizeof(pb), "%s/e2e.key", db);
	{
		char buf[64] = "";
		FILE *f = fopen(pb, "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "0123456789abcdef0123456789abcdef");
		assert_int_equal(stat(pb, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	snprintf(a->path, sizeof(a->path), "%s/hearth.db", db);
	assert_int_equal(cl_open(a), 0);
	assert_string_equal(e2e_curve25519_key(a->e), curve);
	assert_int_equal(rows(a->st, "e2e_olm_session"), olm_rows);
	assert_int_equal(rows(a->st, "e2e_inbound"), inbound_rows);
	assert_int_equal(rows(a->st, "sqlite_master WHERE name = 'hearth_backup'"), 0);
	/* the outbound session is reused: nothing to share again */
	hs_flush(h);
	int before = h->requests;
	assert_int_equal(cl_encrypt(a, ROOM, "after restore", &enc), 0);
	assert_int_equal(h->requests, before);
	ev = hs_event(a, enc, "$3");
	plain = NULL;
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(plain, "content"), "body")),
			    "after restore");
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);
	/* the member's next message decrypts with the restored inbound session */
	assert_int_equal(cl_encrypt(b, ROOM, "second", &enc), 0);
	ev = hs_event(b, enc, "$4");
	plain = NULL;
	assert_int_equal(e2e_decrypt_room_event(a->e, ROOM, ev, &plain), 0);
	snprintf(text, sizeof(text), "%s",
		 json_string_value(json_object_get(json_object_get(plain, "content"), "body")));
	assert_string_equal(text, "second");
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hearth-backup-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(e2e_state_survives_backup_and_restore),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
