"""hearth_store.py - what a test reads or changes in Hearth's store, on either engine.

Without tests/pg/hearth-on-pg.sh (HEARTH_REAL unset) the store is DATA_DIR/hearth.db (SQLite);
with it, the schema hearth-on-pg.sh made for that data folder in the PostgreSQL test cluster.
Statements take no parameters (tests build them from their own constants)."""
import hashlib
import os
import sqlite3
import subprocess


def on_pg() -> bool:
    return bool(os.environ.get("HEARTH_REAL") and os.environ.get("HEARTH_TEST_PG_URL"))


def _pg_url(data_dir: str) -> str:
    schema = "k_" + hashlib.md5(data_dir.encode()).hexdigest()[:16]
    return os.environ["HEARTH_TEST_PG_URL"] + "&options=-csearch_path%3D" + schema


def query_one(data_dir: str, sql: str):
    """The first row as a tuple, or None."""
    if on_pg():
        env = dict(os.environ, PGPASSWORD=os.environ.get("HEARTH_TEST_PG_PASSWORD", ""))
        r = subprocess.run(["psql", "-X", "-At", "-F", "\x1f", _pg_url(data_dir), "-c", sql],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0 or not r.stdout.strip():
            return None
        # whole numbers as int, as SQLite gives them (tokens and ids here are never all digits)
        return tuple(int(v) if v.lstrip("-").isdigit() else v
                     for v in r.stdout.splitlines()[0].split("\x1f"))
    path = os.path.join(data_dir, "hearth.db")
    if not os.path.exists(path):
        return None
    db = sqlite3.connect(path, timeout=5)
    try:
        return db.execute(sql).fetchone()
    except sqlite3.OperationalError:
        return None  # not created yet
    finally:
        db.close()


def execute(data_dir: str, sql: str) -> None:
    if on_pg():
        env = dict(os.environ, PGPASSWORD=os.environ.get("HEARTH_TEST_PG_PASSWORD", ""))
        subprocess.run(["psql", "-X", "-q", _pg_url(data_dir), "-c", sql], check=True, env=env)
        return
    db = sqlite3.connect(os.path.join(data_dir, "hearth.db"))
    try:
        db.execute(sql)
        db.commit()
    finally:
        db.close()
