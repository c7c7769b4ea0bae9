/* db_pg.c - the PostgreSQL engine of the statement layer (db.h), over libpq.
 *
 * Statements are prepared on the server once per connection (named h1, h2, ...) with `?`
 * turned into $n; parameters go as text, except blobs, which go as bytea in binary format;
 * results come back in binary format and are decoded by column type (int2/4/8, bool, float4/8,
 * numeric, text types, bytea).
 *
 * A lost connection makes the failing call return HE_IO; the next call reconnects (PQreset)
 * and prepares statements again. A transaction open when the connection was lost is gone on
 * the server: every statement fails with HE_IO until the caller's db_rollback(), so a COMMIT
 * can never pretend to keep writes the server has dropped.
 *
 * Error messages logged are the server's primary message and SQLSTATE only: the DETAIL of a
 * constraint violation quotes the row's values, which may be a member's words. */
#include "store/db_impl.h"
#include "core/err.h"
#include "core/log.h"

#include <endian.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs (catalog/pg_type_d.h is a server header; these values are fixed). */
enum {
	OID_BOOL = 16, OID_BYTEA = 17, OID_CHAR = 18, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
	OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_NUMERIC = 1700,
};

struct pg_conn {
	unsigned gen;          /* bumped on every (re)connect: statements prepared before are gone */
	unsigned next_name;
	int tx_lost;           /* the connection dropped inside a transaction */
	int tx_before;         /* a transaction was open when the current call began */
	int refused;           /* the reconnect hook failed: the connection is not to be used */
	int in_hook;
};

struct pg_stmt {
	char name[24];
	char *sql;             /* with $n placeholders */
	int nparams;
	unsigned gen;          /* connection generation it was prepared in; 0: not prepared */
	char **vals;           /* nparams copies, NULL for SQL NULL */
	int *lens;
	int *fmts;
	PGresult *res;
	int row, nrows;        /* row: current row, -1 before the first step */
	int ran;
	int64_t changes;
	char **scratch;        /* per column: numbers formatted as text */
	int nscratch;
};

#define C(db) ((PGconn *)(db)->h)
#define P(db) ((struct pg_conn *)(db)->priv)
#define T(st) ((struct pg_stmt *)(st)->impl)

static const char *pg_msg(const PGresult *res, PGconn *conn, char *buf, size_t len)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (primary) {
		snprintf(buf, len, "%s (SQLSTATE %s)", primary, state ? state : "?");
	} else {
		/* A connection-level message (no result): libpq's text, first line only. */
		const char *m = conn ? PQerrorMessage(conn) : "";
		size_t n = strcspn(m, "\n");
		snprintf(buf, len, "%.*s", (int)(n < 300 ? n : 300), *m ? m : "no answer from the server");
	}
	return buf;
}

/* HE_* for a failed result: HE_IO when the connection is gone, HE_AGAIN for a serialization
 * failure or deadlock (the caller may retry the unit of work), HE_DB otherwise. */
static int pg_err(struct db *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(C(db)) == CONNECTION_BAD || (state && strncmp(state, "08", 2) == 0)) {
		if (db->in_tx || P(db)->tx_before)
			P(db)->tx_lost = 1;
		return HE_IO;
	}
	if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
		return HE_AGAIN;
	if (state && strcmp(state, "53200") == 0) /* out of memory on the server */
		return HE_NOMEM;
	return HE_DB;
}

static int session_setup(struct db *db)
{
	PGresult *res;
	int rc = HE_OK;
	char msg[512];

	if (PQsetClientEncoding(C(db), "UTF8") != 0) {
		hlog_error("store", "PostgreSQL %s: cannot use UTF-8: %s", db->safe_url,
			   pg_msg(NULL, C(db), msg, sizeof(msg)));
		return HE_DB;
	}
	/* Times are integers in Hearth's tables; UTC keeps any server-side date maths stable. */
	res = PQexec(C(db), "SET TIME ZONE 'UTC'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		hlog_error("store", "PostgreSQL %s: %s", db->safe_url, pg_msg(res, C(db), msg, sizeof(msg)));
		rc = HE_DB;
	}
	PQclear(res);
	return rc;
}

/* Server notices (NOTICE, WARNING) go to Hearth's log, primary message only (a DETAIL may quote
 * a row), instead of libpq's default of printing them whole on stderr. */
static void on_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (!primary)
		return;
	if (sev && strcmp(sev, "WARNING") == 0)
		hlog_warn("store", "PostgreSQL: %s", primary);
	else
		hlog_debug("store", "PostgreSQL: %s", primary);
}

/* Makes sure the connection is up: reconnects a dropped one. */
static int pg_ensure(struct db *db)
{
	char msg[512];
	int rc;

	if (P(db)->refused)
		return HE_PERM;
	if (P(db)->tx_lost)
		return HE_IO; /* until the caller rolls back what the server already forgot */
	if (PQstatus(C(db)) == CONNECTION_OK) {
		PGTransactionStatusType ts = PQtransactionStatus(C(db));
		P(db)->tx_before = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
		return HE_OK;
	}
	P(db)->tx_before = 0;
	PQreset(C(db));
	if (PQstatus(C(db)) != CONNECTION_OK) {
		hlog_error("store", "PostgreSQL %s is not reachable: %s", db->safe_url,
			   pg_msg(NULL, C(db), msg, sizeof(msg)));
		return HE_IO;
	}
	P(db)->gen++;
	hlog_info("store", "reconnected to PostgreSQL %s", db->safe_url);
	if ((rc = session_setup(db)))
		return rc;
	if (db->reconnect_hook && !P(db)->in_hook) {
		P(db)->in_hook = 1;
		rc = db->reconnect_hook(db, db->reconnect_arg);
		P(db)->in_hook = 0;
		if (rc) {
			hlog_error("store", "PostgreSQL %s: the connection came back without what it held; "
				   "not using it", db->safe_url);
			P(db)->refused = 1;
			return HE_PERM;
		}
	}
	return HE_OK;
}

static int pg_exec(struct db *db, const char *sql)
{
	PGresult *res;
	ExecStatusType s;
	int rc = HE_OK, is_rollback = strcmp(sql, "ROLLBACK") == 0;
	char msg[512];

	if (is_rollback && P(db)->tx_lost) {
		P(db)->tx_lost = 0; /* the server rolled it back when the connection died */
		return HE_OK;
	}
	if ((rc = pg_ensure(db)))
		return rc;
	res = PQexec(C(db), sql);
	s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
		rc = pg_err(db, res);
		hlog_error("store", "SQL failed: %s", pg_msg(res, C(db), msg, sizeof(msg)));
		if (is_rollback && rc == HE_IO)
			P(db)->tx_lost = 0;
	}
	PQclear(res);
	return rc;
}

static void clear_result(struct pg_stmt *t)
{
	PQclear(t->res);
	t->res = NULL;
	t->row = -1;
	t->nrows = 0;
	t->ran = 0;
}

static int pg_prepare(struct db *db, struct db_stmt *st)
{
	struct pg_stmt *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return HE_NOMEM;
	t->sql = db_pg_translate(st->sql, &t->nparams, &err);
	if (!t->sql) {
		hlog_error("store", "cannot use SQL with numbered parameters or over 65535 of them (a bug)");
		free(t);
		return err;
	}
	if (t->nparams) {
		t->vals = calloc((size_t)t->nparams, sizeof(*t->vals));
		t->lens = calloc((size_t)t->nparams, sizeof(*t->lens));
		t->fmts = calloc((size_t)t->nparams, sizeof(*t->fmts));
		if (!t->vals || !t->lens || !t->fmts) {
			free(t->vals);
			free(t->lens);
			free(t->fmts);
			free(t->sql);
			free(t);
			return HE_NOMEM;
		}
	}
	snprintf(t->name, sizeof(t->name), "h%u", ++P(db)->next_name);
	t->row = -1;
	st->impl = t;
	return HE_OK;
}

static void free_params(struct pg_stmt *t)
{
	for (int i = 0; i < t->nparams; i++) {
		free(t->vals[i]);
		t->vals[i] = NULL;
		t->lens[i] = 0;
		t->fmts[i] = 0;
	}
}

static void pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *t = T(st);

	if (!t)
		return;
	clear_result(t);
	free_params(t);
	for (int i = 0; i < t->nscratch; i++)
		free(t->scratch[i]);
	free(t->scratch);
	free(t->vals);
	free(t->lens);
	free(t->fmts);
	free(t->sql);
	free(t);
	st->impl = NULL;
}

static int pg_nparams(struct db_stmt *st) { return T(st)->nparams; }

static int pg_bind(struct db_stmt *st, int i, const struct db_value *v)
{
	struct pg_stmt *t = T(st);
	char *p = NULL;
	int len = 0, fmt = 0;

	if (i < 1 || i > t->nparams)
		return HE_INVAL;
	switch (v->kind) {
	case 's':
		if (!(p = strdup(v->s)))
			return HE_NOMEM;
		break;
	case 'i':
		if (asprintf(&p, "%lld", (long long)v->i) < 0)
			return HE_NOMEM;
		break;
	case 'd':
		if (!isfinite(v->d))
			return HE_INVAL;
		if (asprintf(&p, "%.17g", v->d) < 0)
			return HE_NOMEM;
		break;
	case 'b':
		if (!(p = malloc(v->n ? (size_t)v->n : 1)))
			return HE_NOMEM;
		if (v->n)
			memcpy(p, v->b, (size_t)v->n);
		len = v->n;
		fmt = 1;
		break;
	default:
		break;
	}
	free(t->vals[i - 1]);
	t->vals[i - 1] = p;
	t->lens[i - 1] = len;
	t->fmts[i - 1] = fmt;
	return HE_OK;
}

static int pg_run(struct db_stmt *st)
{
	struct db *db = st->db;
	struct pg_stmt *t = T(st);
	PGresult *res;
	ExecStatusType s;
	char msg[512];
	int rc;

	if ((rc = pg_ensure(db)))
		return rc;
	if (t->gen != P(db)->gen) {
		res = PQprepare(C(db), t->name, t->sql, t->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = pg_err(db, res);
			hlog_error("store", "cannot prepare SQL: %s", pg_msg(res, C(db), msg, sizeof(msg)));
			PQclear(res);
			return rc;
		}
		PQclear(res);
		t->gen = P(db)->gen;
	}
	res = PQexecPrepared(C(db), t->name, t->nparams, (const char *const *)t->vals, t->lens,
			     t->fmts, 1);
	s = PQresultStatus(res);
	if (s == PGRES_TUPLES_OK) {
		t->res = res;
		t->nrows = PQntuples(res);
		t->changes = PQcmdTuples(res)[0] ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
	} else if (s == PGRES_COMMAND_OK) {
		t->res = res;
		t->nrows = 0;
		t->changes = PQcmdTuples(res)[0] ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
	} else {
		rc = pg_err(db, res);
		hlog_error("store", "SQL failed: %s", pg_msg(res, C(db), msg, sizeof(msg)));
		PQclear(res);
		return rc;
	}
	t->ran = 1;
	{
		const char *cmd = PQcmdStatus(res);
		if (strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
		    strncmp(cmd, "DELETE", 6) == 0 || strncmp(cmd, "MERGE", 5) == 0)
			db->last_changes = t->changes;
	}
	return HE_OK;
}

static int pg_step(struct db_stmt *st)
{
	struct pg_stmt *t = T(st);
	int rc;

	if (!t->ran && (rc = pg_run(st)))
		return rc;
	if (t->row + 1 < t->nrows) {
		t->row++;
		return DB_ROW;
	}
	t->row = t->nrows;
	return DB_DONE;
}

static void pg_reset(struct db_stmt *st)
{
	clear_result(T(st));
	free_params(T(st));
}

static int64_t pg_changes(struct db_stmt *st) { return T(st)->changes; }

static int pg_col_count(struct db_stmt *st)
{
	struct pg_stmt *t = T(st);
	return t->res && t->row >= 0 && t->row < t->nrows ? PQnfields(t->res) : 0;
}

static const char *raw(struct db_stmt *st, int col, int *len, Oid *type)
{
	struct pg_stmt *t = T(st);

	*len = 0;
	*type = 0;
	if (!t->res || t->row < 0 || t->row >= t->nrows || PQgetisnull(t->res, t->row, col))
		return NULL;
	*type = PQftype(t->res, col);
	*len = PQgetlength(t->res, t->row, col);
	return PQgetvalue(t->res, t->row, col);
}

static uint16_t be16(const char *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static uint32_t be32(const char *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t be64(const char *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

/* numeric's binary form: ndigits, weight, sign, dscale (int16 each), then base-10000 digits. */
static int numeric_parts(const char *p, int len, int *nd, int *weight, int *sign, int *dscale)
{
	if (len < 8)
		return -1;
	*nd = (int16_t)be16(p);
	*weight = (int16_t)be16(p + 2);
	*sign = be16(p + 4);
	*dscale = (int16_t)be16(p + 6);
	if (*nd < 0 || len < 8 + 2 * *nd)
		return -1;
	return 0;
}

static double numeric_double(const char *p, int len)
{
	int nd, weight, sign, dscale;
	double v = 0;

	if (numeric_parts(p, len, &nd, &weight, &sign, &dscale))
		return 0;
	if (sign == 0xC000)
		return NAN;
	if (sign == 0xD000)
		return INFINITY;
	if (sign == 0xF000)
		return -INFINITY;
	for (int i = 0; i < nd; i++)
		v += (int16_t)be16(p + 8 + 2 * i) * pow(10000.0, weight - i);
	return sign == 0x4000 ? -v : v;
}

static int64_t clamp64(double d)
{
	if (isnan(d))
		return 0;
	if (d >= 9223372036854775807.0)
		return INT64_MAX;
	if (d <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)d;
}

static int64_t numeric_int64(const char *p, int len)
{
	int nd, weight, sign, dscale;
	int64_t v = 0;

	if (numeric_parts(p, len, &nd, &weight, &sign, &dscale))
		return 0;
	if (sign != 0 && sign != 0x4000)
		return clamp64(numeric_double(p, len));
	if (weight > 4)
		return sign == 0x4000 ? INT64_MIN : INT64_MAX; /* >= 10000^5 = 1e20: beyond int64 */
	for (int i = 0; i <= weight; i++) {
		int64_t d = i < nd ? (int16_t)be16(p + 8 + 2 * i) : 0;
		if (v > (INT64_MAX - d) / 10000)
			return sign == 0x4000 ? INT64_MIN : INT64_MAX;
		v = v * 10000 + d;
	}
	return sign == 0x4000 ? -v : v;
}

static enum db_type pg_col_type(struct db_stmt *st, int col)
{
	int len, nd, weight, sign, dscale;
	Oid type;
	const char *p = raw(st, col, &len, &type);

	if (!p)
		return DB_NULL;
	switch (type) {
	case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
		return DB_INT;
	case OID_FLOAT4: case OID_FLOAT8:
		return DB_FLOAT;
	case OID_NUMERIC: /* sum(bigint) is numeric: a whole number reads as an integer */
		if (numeric_parts(p, len, &nd, &weight, &sign, &dscale) == 0 && dscale == 0 &&
		    (sign == 0 || sign == 0x4000))
			return DB_INT;
		return DB_FLOAT;
	case OID_BYTEA:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

/* Binary float4/float8 values (network order); the caller has checked the length. */
static float pg_float4(const char *p)
{
	uint32_t u = be32(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static double pg_float8(const char *p)
{
	uint64_t u = be64(p);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static int64_t pg_col_int64(struct db_stmt *st, int col)
{
	int len;
	Oid type;
	const char *p = raw(st, col, &len, &type);
	char buf[32];

	if (!p)
		return 0;
	switch (type) {
	case OID_BOOL: case OID_CHAR: return len >= 1 ? (int64_t)(unsigned char)p[0] : 0;
	case OID_INT2: return len == 2 ? (int16_t)be16(p) : 0;
	case OID_INT4: return len == 4 ? (int32_t)be32(p) : 0;
	case OID_OID: return len == 4 ? (int64_t)be32(p) : 0;
	case OID_INT8: return len == 8 ? (int64_t)be64(p) : 0;
	case OID_FLOAT4: return len == 4 ? clamp64(pg_float4(p)) : 0;
	case OID_FLOAT8: return len == 8 ? clamp64(pg_float8(p)) : 0;
	case OID_NUMERIC: return numeric_int64(p, len);
	default:
		/* Text (and bytea, as SQLite does): its leading integer. */
		snprintf(buf, sizeof(buf), "%.*s", len < 31 ? len : 31, p);
		return strtoll(buf, NULL, 10);
	}
}

static double pg_col_double(struct db_stmt *st, int col)
{
	int len;
	Oid type;
	const char *p = raw(st, col, &len, &type);
	char buf[64];

	if (!p)
		return 0;
	switch (type) {
	case OID_FLOAT4: return len == 4 ? pg_float4(p) : 0;
	case OID_FLOAT8: return len == 8 ? pg_float8(p) : 0;
	case OID_NUMERIC: return numeric_double(p, len);
	case OID_BOOL: case OID_CHAR: case OID_INT2: case OID_INT4: case OID_OID: case OID_INT8:
		return (double)pg_col_int64(st, col);
	default:
		snprintf(buf, sizeof(buf), "%.*s", len < 63 ? len : 63, p);
		return strtod(buf, NULL);
	}
}

/* Numbers as text, in a per-column buffer that lives until the statement is freed. */
static const char *number_text(struct db_stmt *st, int col)
{
	struct pg_stmt *t = T(st);
	char *buf;

	if (col >= t->nscratch) {
		int n = PQnfields(t->res);
		char **s = realloc(t->scratch, (size_t)n * sizeof(*s));
		if (!s)
			return NULL;
		for (int i = t->nscratch; i < n; i++)
			s[i] = NULL;
		t->scratch = s;
		t->nscratch = n;
	}
	if (!t->scratch[col] && !(t->scratch[col] = malloc(64)))
		return NULL;
	buf = t->scratch[col];
	if (pg_col_type(st, col) == DB_INT)
		snprintf(buf, 64, "%lld", (long long)pg_col_int64(st, col));
	else
		snprintf(buf, 64, "%.15g", pg_col_double(st, col));
	return buf;
}

static bool is_number(Oid type)
{
	switch (type) {
	case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
	case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
		return true;
	default:
		return false;
	}
}

static const char *pg_col_text(struct db_stmt *st, int col)
{
	int len;
	Oid type;
	const char *p = raw(st, col, &len, &type);

	if (!p)
		return NULL;
	if (is_number(type))
		return number_text(st, col);
	return p; /* libpq ends every value with a NUL byte */
}

static const void *pg_col_blob(struct db_stmt *st, int col)
{
	int len;
	Oid type;
	const char *p = raw(st, col, &len, &type);

	if (!p)
		return NULL;
	if (is_number(type))
		return number_text(st, col);
	return len ? p : NULL;
}

static int pg_col_bytes(struct db_stmt *st, int col)
{
	int len;
	Oid type;
	const char *p = raw(st, col, &len, &type);

	if (!p)
		return 0;
	if (is_number(type)) {
		const char *s = number_text(st, col);
		return s ? (int)strlen(s) : 0;
	}
	return len;
}

static bool pg_in_tx(struct db *db)
{
	if (P(db)->tx_lost)
		return true; /* until the caller rolls back */
	return PQtransactionStatus(C(db)) != PQTRANS_IDLE && PQtransactionStatus(C(db)) != PQTRANS_UNKNOWN;
}

static void pg_close(struct db *db)
{
	if (db->h)
		PQfinish(C(db));
	db->h = NULL;
	free(db->priv);
	db->priv = NULL;
}

static const struct db_ops pg_ops = {
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.nparams = pg_nparams,
	.bind = pg_bind,
	.step = pg_step,
	.reset = pg_reset,
	.changes = pg_changes,
	.col_count = pg_col_count,
	.col_type = pg_col_type,
	.col_int64 = pg_col_int64,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.col_bytes = pg_col_bytes,
	.in_tx = pg_in_tx,
	.close = pg_close,
	.begin_sql = "BEGIN",
};

/* True when the URL itself carries a password (user:PASS@ or password=). */
static bool url_has_password(const char *url)
{
	char safe[1024];

	db_url_redact(url, safe, sizeof(safe));
	return strstr(safe, "***") != NULL;
}

int db_pg_open(const char *url, struct db **out)
{
	struct db *db = db_alloc(&pg_ops, DB_PG, url);
	const char *keys[6], *vals[6];
	const char *pw = getenv("HEARTH_STORE_PASSWORD");
	char msg[512];
	int k = 0, rc;

	*out = NULL;
	if (!db)
		return HE_NOMEM;
	if (!(db->priv = calloc(1, sizeof(struct pg_conn)))) {
		db_free(db);
		return HE_NOMEM;
	}
	/* Defaults first: the URL's own parameters override them; the environment's password
	 * comes last and overrides the URL's. */
	keys[k] = "connect_timeout"; vals[k++] = "10";
	keys[k] = "application_name"; vals[k++] = "hearth";
	keys[k] = "dbname"; vals[k++] = url;
	if (pw && *pw) {
		keys[k] = "password";
		vals[k++] = pw;
	}
	keys[k] = NULL;
	vals[k] = NULL;
	if (url_has_password(url))
		hlog_warn("store", "the store url holds a password; put it in HEARTH_STORE_PASSWORD or "
			  "~/.pgpass instead, so it is not in the config file");
	db->h = PQconnectdbParams(keys, vals, 1);
	if (!db->h) {
		db_free(db);
		return HE_NOMEM;
	}
	if (PQstatus(C(db)) != CONNECTION_OK) {
		hlog_error("store", "cannot connect to PostgreSQL %s: %s", db->safe_url,
			   pg_msg(NULL, C(db), msg, sizeof(msg)));
		db_free(db);
		return HE_IO;
	}
	PQsetNoticeReceiver(C(db), on_notice, NULL);
	P(db)->gen = 1;
	if ((rc = session_setup(db))) {
		db_free(db);
		return rc;
	}
	hlog_info("store", "using PostgreSQL %s (server %d)", db->safe_url, PQserverVersion(C(db)));
	*out = db;
	return HE_OK;
}
