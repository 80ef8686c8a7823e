/* store.c — opening the database and applying migrations.
 *
 * Migrations are an append-only list: a migration, once released, is never
 * edited; a change is a new entry. schema_migrations records each applied
 * version with its time, so a database opened by an older binary that knows
 * fewer versions is refused rather than silently misread. */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct store {
  char *dir;
  char *path;
  int version;
  int lock_fd; /* holds an flock on dir/lock while the store is open */
};

struct store_conn {
  sqlite3 *db;
};

typedef struct {
  int version;
  const char *name;
  const char *sql;
} migration;

static const migration migrations[] = {
    {1, "meta",
     "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
     "INSERT INTO meta(key, value) VALUES ('created_at', strftime('%s','now'));"},
};

static _Thread_local bool thread_forbidden;

void store_forbid_this_thread(void) { thread_forbidden = true; }

static int exec_or_err(sqlite3 *db, const char *sql, char *err, size_t err_len,
                       const char *what) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return HR_OK;
  snprintf(err, err_len, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  return HR_ESTORE;
}

static int current_version(sqlite3 *db, int *version) {
  sqlite3_stmt *st;
  *version = 0;
  if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                         &st, NULL) != SQLITE_OK)
    return HR_ESTORE;
  if (sqlite3_step(st) == SQLITE_ROW) *version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return HR_OK;
}

static int migrate(sqlite3 *db, int *version_out, char *err, size_t err_len) {
  int rc = exec_or_err(db,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                       " applied_at INTEGER NOT NULL)",
                       err, err_len, "creating schema_migrations");
  if (rc) return rc;
  int have;
  if (current_version(db, &have)) {
    snprintf(err, err_len, "reading schema version: %s", sqlite3_errmsg(db));
    return HR_ESTORE;
  }
  int known = migrations[HR_ARRAY_LEN(migrations) - 1].version;
  if (have > known) {
    snprintf(err, err_len,
             "database schema version %d is newer than this hearth knows (%d); "
             "upgrade hearth",
             have, known);
    return HR_EUNSUPPORTED;
  }
  for (size_t i = 0; i < HR_ARRAY_LEN(migrations); i++) {
    const migration *m = &migrations[i];
    if (m->version <= have) continue;
    char what[96];
    snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
    if ((rc = exec_or_err(db, "BEGIN IMMEDIATE", err, err_len, what))) return rc;
    rc = exec_or_err(db, m->sql, err, err_len, what);
    if (!rc) {
      char *rec = sqlite3_mprintf(
          "INSERT INTO schema_migrations(version, name, applied_at) "
          "VALUES (%d, %Q, strftime('%%s','now'))",
          m->version, m->name);
      rc = rec ? exec_or_err(db, rec, err, err_len, what) : HR_ENOMEM;
      sqlite3_free(rec);
    }
    if (rc) {
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
    if ((rc = exec_or_err(db, "COMMIT", err, err_len, what))) return rc;
    have = m->version;
  }
  *version_out = have;
  return HR_OK;
}

static int open_db(const char *path, sqlite3 **out) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path, out, flags, NULL) != SQLITE_OK) return HR_ESTORE;
  sqlite3_busy_timeout(*out, 5000);
  /* WAL lets readers run beside the one writer; synchronous=FULL makes a
   * committed transaction survive power loss, which "a 2xx is never lost"
   * needs. */
  if (sqlite3_exec(*out,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return HR_ESTORE;
  return HR_OK;
}

static int mkdir_p(const char *dir) {
  char tmp[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof tmp) return HR_EINVAL;
  memcpy(tmp, dir, n + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return HR_EIO;
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return HR_EIO;
  return HR_OK;
}

/* One process per data directory: two writers' WAL would be safe for
 * SQLite, but two servers sharing jobs and files would not be. */
static int lock_dir(store *s, const char *dir, char *err, size_t err_len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/lock", dir);
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (s->lock_fd < 0) {
    snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
    return HR_EIO;
  }
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = "";
    ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = 0;
    pid[strcspn(pid, "\n")] = 0;
    snprintf(err, err_len, "data directory %s is locked by another hearth (pid %s)", dir,
             pid[0] ? pid : "unknown");
    return HR_EBUSY;
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  if (ftruncate(s->lock_fd, 0) == 0 && pwrite(s->lock_fd, pid, (size_t)n, 0) < 0) {
    /* the pid is only informative */
  }
  return HR_OK;
}

int store_open(const char *dir, store **out, char *err, size_t err_len) {
  if (mkdir_p(dir)) {
    snprintf(err, err_len, "cannot create data directory %s: %s", dir, strerror(errno));
    return HR_EIO;
  }
  store *s = calloc(1, sizeof *s);
  if (!s) return HR_ENOMEM;
  s->lock_fd = -1;
  if (lock_dir(s, dir, err, err_len)) {
    store_close(s);
    return HR_EBUSY;
  }
  s->dir = strdup(dir);
  size_t plen = strlen(dir) + 16;
  s->path = malloc(plen);
  if (!s->dir || !s->path) {
    store_close(s);
    return HR_ENOMEM;
  }
  snprintf(s->path, plen, "%s/hearth.db", dir);
  sqlite3 *db = NULL;
  int rc = open_db(s->path, &db);
  if (rc) {
    snprintf(err, err_len, "cannot open %s: %s", s->path,
             db ? sqlite3_errmsg(db) : "out of memory");
  } else {
    rc = migrate(db, &s->version, err, err_len);
  }
  sqlite3_close(db);
  if (rc) {
    store_close(s);
    return rc;
  }
  *out = s;
  return HR_OK;
}

void store_close(store *s) {
  if (!s) return;
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
  free(s->dir);
  free(s->path);
  free(s);
}

const char *store_path(const store *s) { return s->path; }
int store_schema_version(const store *s) { return s->version; }

int store_conn_open(store *s, store_conn **out) {
  assert(!thread_forbidden && "no SQLite on an I/O loop thread");
  store_conn *c = calloc(1, sizeof *c);
  if (!c) return HR_ENOMEM;
  if (open_db(s->path, &c->db)) {
    hr_log(HR_LOG_ERROR, "store: cannot open %s: %s", s->path,
           c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_close(c->db);
    free(c);
    return HR_ESTORE;
  }
  *out = c;
  return HR_OK;
}

void store_conn_close(store_conn *c) {
  if (!c) return;
  sqlite3_close(c->db);
  free(c);
}

sqlite3 *store_conn_db(store_conn *c) { return c->db; }
